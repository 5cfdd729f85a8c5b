using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace Sluice.Runtime
{
    /// JSON for the frames' headers and for a handler's result that is neither text nor bytes. Mono's base
    /// install has no JSON library (System.Runtime.Serialization is a package of its own).
    internal static class Json
    {
        /// Objects become Dictionary<string, object>, arrays List<object>, integers long, other numbers double.
        public static object Parse(string text)
        {
            int at = 0;
            var value = ParseValue(text, ref at);
            SkipSpace(text, ref at);
            if (at != text.Length)
                throw new FormatException("trailing characters after JSON at " + at);
            return value;
        }

        private static object ParseValue(string s, ref int at)
        {
            SkipSpace(s, ref at);
            if (at >= s.Length)
                throw new FormatException("unexpected end of JSON");
            char c = s[at];
            if (c == '{')
            {
                var obj = new Dictionary<string, object>();
                at++;
                SkipSpace(s, ref at);
                if (s[at] == '}') { at++; return obj; }
                for (;;)
                {
                    SkipSpace(s, ref at);
                    var key = ParseString(s, ref at);
                    SkipSpace(s, ref at);
                    Expect(s, ref at, ':');
                    obj[key] = ParseValue(s, ref at);
                    SkipSpace(s, ref at);
                    if (s[at] == ',') { at++; continue; }
                    Expect(s, ref at, '}');
                    return obj;
                }
            }
            if (c == '[')
            {
                var list = new List<object>();
                at++;
                SkipSpace(s, ref at);
                if (s[at] == ']') { at++; return list; }
                for (;;)
                {
                    list.Add(ParseValue(s, ref at));
                    SkipSpace(s, ref at);
                    if (s[at] == ',') { at++; continue; }
                    Expect(s, ref at, ']');
                    return list;
                }
            }
            if (c == '"')
                return ParseString(s, ref at);
            if (Literal(s, ref at, "true")) return true;
            if (Literal(s, ref at, "false")) return false;
            if (Literal(s, ref at, "null")) return null;
            int start = at;
            while (at < s.Length && "+-0123456789.eE".IndexOf(s[at]) >= 0)
                at++;
            var number = s.Substring(start, at - start);
            if (number.Length == 0)
                throw new FormatException("unexpected character in JSON at " + start);
            long integer;
            if (long.TryParse(number, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out integer))
                return integer;
            return double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture);
        }

        private static string ParseString(string s, ref int at)
        {
            Expect(s, ref at, '"');
            var result = new StringBuilder();
            for (;;)
            {
                char c = s[at++];
                if (c == '"')
                    return result.ToString();
                if (c != '\\')
                {
                    result.Append(c);
                    continue;
                }
                char e = s[at++];
                switch (e)
                {
                    case 'b': result.Append('\b'); break;
                    case 'f': result.Append('\f'); break;
                    case 'n': result.Append('\n'); break;
                    case 'r': result.Append('\r'); break;
                    case 't': result.Append('\t'); break;
                    case 'u':
                        result.Append((char)int.Parse(s.Substring(at, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                        at += 4;
                        break;
                    default: result.Append(e); break;
                }
            }
        }

        private static bool Literal(string s, ref int at, string word)
        {
            if (string.CompareOrdinal(s, at, word, 0, word.Length) != 0)
                return false;
            at += word.Length;
            return true;
        }

        private static void Expect(string s, ref int at, char c)
        {
            if (at >= s.Length || s[at] != c)
                throw new FormatException("expected '" + c + "' in JSON at " + at);
            at++;
        }

        private static void SkipSpace(string s, ref int at)
        {
            while (at < s.Length && char.IsWhiteSpace(s[at]))
                at++;
        }

        /// Dictionaries, lists, strings, numbers, booleans and null as themselves; any other object by its public
        /// properties (an anonymous type's, for instance).
        public static string Write(object value)
        {
            var result = new StringBuilder();
            WriteValue(value, result, 0);
            return result.ToString();
        }

        private static void WriteValue(object value, StringBuilder result, int depth)
        {
            if (depth > 64)
                throw new InvalidOperationException("the value is nested too deeply (or refers to itself) to be written as JSON");
            if (value == null)
            {
                result.Append("null");
                return;
            }
            var text = value as string;
            if (text != null || value is char || value is Enum || value is Guid || value is DateTime)
            {
                if (value is DateTime)
                    text = ((DateTime)value).ToString("o", CultureInfo.InvariantCulture);
                WriteString(text ?? value.ToString(), result);
                return;
            }
            if (value is bool)
            {
                result.Append((bool)value ? "true" : "false");
                return;
            }
            if (value is double || value is float)
            {
                double d = Convert.ToDouble(value, CultureInfo.InvariantCulture);
                if (double.IsNaN(d) || double.IsInfinity(d))
                    result.Append("null");
                else
                    result.Append(d.ToString("R", CultureInfo.InvariantCulture));
                return;
            }
            if (value is IConvertible && value.GetType().IsPrimitive || value is decimal)
            {
                result.Append(Convert.ToString(value, CultureInfo.InvariantCulture));
                return;
            }
            var dictionary = value as IDictionary;
            if (dictionary != null)
            {
                result.Append('{');
                bool first = true;
                foreach (DictionaryEntry entry in dictionary)
                {
                    if (!first) result.Append(',');
                    first = false;
                    WriteString(Convert.ToString(entry.Key, CultureInfo.InvariantCulture), result);
                    result.Append(':');
                    WriteValue(entry.Value, result, depth + 1);
                }
                result.Append('}');
                return;
            }
            var list = value as IEnumerable;
            if (list != null)
            {
                result.Append('[');
                bool first = true;
                foreach (var item in list)
                {
                    if (!first) result.Append(',');
                    first = false;
                    WriteValue(item, result, depth + 1);
                }
                result.Append(']');
                return;
            }
            result.Append('{');
            bool firstProperty = true;
            foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (!property.CanRead || property.GetIndexParameters().Length > 0)
                    continue;
                if (!firstProperty) result.Append(',');
                firstProperty = false;
                WriteString(property.Name, result);
                result.Append(':');
                WriteValue(property.GetValue(value, null), result, depth + 1);
            }
            result.Append('}');
        }

        private static void WriteString(string text, StringBuilder result)
        {
            result.Append('"');
            foreach (char c in text)
            {
                switch (c)
                {
                    case '"': result.Append("\\\""); break;
                    case '\\': result.Append("\\\\"); break;
                    case '\n': result.Append("\\n"); break;
                    case '\r': result.Append("\\r"); break;
                    case '\t': result.Append("\\t"); break;
                    default:
                        if (c < 0x20)
                            result.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else
                            result.Append(c);
                        break;
                }
            }
            result.Append('"');
        }
    }
}
