// The part of Microsoft.Extensions.Logging.Abstractions that Function Compute's C# handlers use: ILogger, its
// levels and the LogInformation family of extensions, with the library's message templates. Sluice builds it
// from this file, with the same assembly name, so that a handler written against the real one compiles
// unchanged; the logger a handler gets writes to its invocation's log.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Microsoft.Extensions.Logging
{
    public enum LogLevel
    {
        Trace = 0,
        Debug = 1,
        Information = 2,
        Warning = 3,
        Error = 4,
        Critical = 5,
        None = 6,
    }

    public struct EventId
    {
        public EventId(int id, string name = null)
        {
            Id = id;
            Name = name;
        }

        public int Id { get; }
        public string Name { get; }

        public static implicit operator EventId(int id)
        {
            return new EventId(id);
        }

        public override string ToString()
        {
            return Name ?? Id.ToString(CultureInfo.InvariantCulture);
        }
    }

    public interface ILogger
    {
        void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception exception, Func<TState, Exception, string> formatter);

        bool IsEnabled(LogLevel logLevel);

        IDisposable BeginScope<TState>(TState state);
    }

    public interface ILogger<out TCategoryName> : ILogger
    {
    }

    public static class LoggerExtensions
    {
        public static void LogTrace(this ILogger logger, string message, params object[] args) { logger.Log(LogLevel.Trace, 0, null, message, args); }
        public static void LogTrace(this ILogger logger, EventId eventId, string message, params object[] args) { logger.Log(LogLevel.Trace, eventId, null, message, args); }
        public static void LogTrace(this ILogger logger, Exception exception, string message, params object[] args) { logger.Log(LogLevel.Trace, 0, exception, message, args); }
        public static void LogTrace(this ILogger logger, EventId eventId, Exception exception, string message, params object[] args) { logger.Log(LogLevel.Trace, eventId, exception, message, args); }

        public static void LogDebug(this ILogger logger, string message, params object[] args) { logger.Log(LogLevel.Debug, 0, null, message, args); }
        public static void LogDebug(this ILogger logger, EventId eventId, string message, params object[] args) { logger.Log(LogLevel.Debug, eventId, null, message, args); }
        public static void LogDebug(this ILogger logger, Exception exception, string message, params object[] args) { logger.Log(LogLevel.Debug, 0, exception, message, args); }
        public static void LogDebug(this ILogger logger, EventId eventId, Exception exception, string message, params object[] args) { logger.Log(LogLevel.Debug, eventId, exception, message, args); }

        public static void LogInformation(this ILogger logger, string message, params object[] args) { logger.Log(LogLevel.Information, 0, null, message, args); }
        public static void LogInformation(this ILogger logger, EventId eventId, string message, params object[] args) { logger.Log(LogLevel.Information, eventId, null, message, args); }
        public static void LogInformation(this ILogger logger, Exception exception, string message, params object[] args) { logger.Log(LogLevel.Information, 0, exception, message, args); }
        public static void LogInformation(this ILogger logger, EventId eventId, Exception exception, string message, params object[] args) { logger.Log(LogLevel.Information, eventId, exception, message, args); }

        public static void LogWarning(this ILogger logger, string message, params object[] args) { logger.Log(LogLevel.Warning, 0, null, message, args); }
        public static void LogWarning(this ILogger logger, EventId eventId, string message, params object[] args) { logger.Log(LogLevel.Warning, eventId, null, message, args); }
        public static void LogWarning(this ILogger logger, Exception exception, string message, params object[] args) { logger.Log(LogLevel.Warning, 0, exception, message, args); }
        public static void LogWarning(this ILogger logger, EventId eventId, Exception exception, string message, params object[] args) { logger.Log(LogLevel.Warning, eventId, exception, message, args); }

        public static void LogError(this ILogger logger, string message, params object[] args) { logger.Log(LogLevel.Error, 0, null, message, args); }
        public static void LogError(this ILogger logger, EventId eventId, string message, params object[] args) { logger.Log(LogLevel.Error, eventId, null, message, args); }
        public static void LogError(this ILogger logger, Exception exception, string message, params object[] args) { logger.Log(LogLevel.Error, 0, exception, message, args); }
        public static void LogError(this ILogger logger, EventId eventId, Exception exception, string message, params object[] args) { logger.Log(LogLevel.Error, eventId, exception, message, args); }

        public static void LogCritical(this ILogger logger, string message, params object[] args) { logger.Log(LogLevel.Critical, 0, null, message, args); }
        public static void LogCritical(this ILogger logger, EventId eventId, string message, params object[] args) { logger.Log(LogLevel.Critical, eventId, null, message, args); }
        public static void LogCritical(this ILogger logger, Exception exception, string message, params object[] args) { logger.Log(LogLevel.Critical, 0, exception, message, args); }
        public static void LogCritical(this ILogger logger, EventId eventId, Exception exception, string message, params object[] args) { logger.Log(LogLevel.Critical, eventId, exception, message, args); }

        public static void Log(this ILogger logger, LogLevel logLevel, string message, params object[] args) { logger.Log(logLevel, 0, null, message, args); }
        public static void Log(this ILogger logger, LogLevel logLevel, EventId eventId, string message, params object[] args) { logger.Log(logLevel, eventId, null, message, args); }
        public static void Log(this ILogger logger, LogLevel logLevel, Exception exception, string message, params object[] args) { logger.Log(logLevel, 0, exception, message, args); }

        public static void Log(this ILogger logger, LogLevel logLevel, EventId eventId, Exception exception, string message, params object[] args)
        {
            if (logger == null)
                throw new ArgumentNullException("logger");
            logger.Log(logLevel, eventId, new FormattedLogValues(message, args), exception, FormattedLogValues.Format);
        }

        public static IDisposable BeginScope(this ILogger logger, string messageFormat, params object[] args)
        {
            if (logger == null)
                throw new ArgumentNullException("logger");
            return logger.BeginScope(new FormattedLogValues(messageFormat, args));
        }
    }

    /// A message template and its arguments. As in the real library, the holes are filled in the order they
    /// appear whatever their names ("{0}", "{User}"), "{{" and "}}" are braces, and a null argument is "(null)".
    internal sealed class FormattedLogValues
    {
        internal static readonly Func<FormattedLogValues, Exception, string> Format = (state, exception) => state.ToString();

        private readonly string template;
        private readonly object[] args;

        public FormattedLogValues(string template, object[] args)
        {
            this.template = template ?? "[null]";
            this.args = args ?? new object[0];
        }

        public override string ToString()
        {
            if (args.Length == 0)
                return template;
            var values = new object[args.Length];
            for (int i = 0; i < args.Length; i++)
                values[i] = args[i] ?? "(null)";
            try
            {
                return string.Format(CultureInfo.InvariantCulture, Positional(template), values);
            }
            catch (FormatException)
            {
                // More holes than arguments: the template as written, rather than a log line lost.
                return template;
            }
        }

        /// "{Name,10:x}" becomes "{0,10:x}", numbered by order of appearance.
        private static string Positional(string template)
        {
            var result = new StringBuilder(template.Length);
            int hole = 0;
            for (int i = 0; i < template.Length; i++)
            {
                char c = template[i];
                if ((c == '{' || c == '}') && i + 1 < template.Length && template[i + 1] == c)
                {
                    result.Append(c).Append(c);
                    i++;
                    continue;
                }
                if (c != '{')
                {
                    result.Append(c);
                    continue;
                }
                int close = template.IndexOf('}', i);
                if (close < 0)
                {
                    result.Append(template, i, template.Length - i);
                    break;
                }
                string inside = template.Substring(i + 1, close - i - 1);
                int format = inside.IndexOfAny(new[] { ',', ':' });
                result.Append('{').Append(hole++.ToString(CultureInfo.InvariantCulture));
                if (format >= 0)
                    result.Append(inside, format, inside.Length - format);
                result.Append('}');
                i = close;
            }
            return result.ToString();
        }
    }
}
