using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Sluice.Runtime
{
    /// What a handler writes (Console, its logger) as log frames naming the invocation that runs; lines written
    /// outside one carry no id. One invocation runs at a time, so the one running is the one that wrote.
    internal static class Output
    {
        private const int LogCap = 1 << 20;
        private const string Truncated = "[sluice] log output truncated at 1 MiB\n";

        private static readonly object gate = new object();
        private static Channel channel;
        private static long? id;
        private static int logged;
        private static bool truncated;
        /// While the bootstrap warms itself up: what is written goes nowhere.
        private static bool discarding;

        public static LogWriter Stdout { get; private set; }
        public static LogWriter Stderr { get; private set; }

        public static void Install(Channel to)
        {
            channel = to;
            Stdout = new LogWriter("stdout");
            Stderr = new LogWriter("stderr");
            Console.SetOut(Stdout);
            Console.SetError(Stderr);
            // Environment.Exit in a handler: what it wrote still reaches its log.
            AppDomain.CurrentDomain.ProcessExit += (sender, e) => Flush();
        }

        /// Runs `action` with everything written dropped, not sent.
        public static void Discarding(Action action)
        {
            discarding = true;
            try
            {
                action();
            }
            finally
            {
                Flush();
                discarding = false;
            }
        }

        public static void Begin(long invocation)
        {
            Flush();
            lock (gate)
            {
                id = invocation;
                logged = 0;
                truncated = false;
            }
        }

        /// Sends what is buffered, before the answer that ends the invocation.
        public static void End()
        {
            Flush();
            lock (gate)
                id = null;
        }

        public static void Flush()
        {
            Stdout.Flush();
            Stderr.Flush();
        }

        internal static void Send(string stream, string text)
        {
            if (text.Length == 0)
                return;
            lock (gate)
            {
                var bytes = Encoding.UTF8.GetBytes(text);
                if (id != null)
                {
                    if (truncated)
                        return;
                    if (bytes.Length > LogCap - logged)
                    {
                        truncated = true;
                        int room = LogCap - logged;
                        // Cut before a character that the cut would split.
                        while (room > 0 && (bytes[room] & 0xC0) == 0x80)
                            room--;
                        var cut = Encoding.UTF8.GetString(bytes, 0, room);
                        bytes = Encoding.UTF8.GetBytes(cut + (cut.EndsWith("\n") || cut.Length == 0 ? "" : "\n") + Truncated);
                    }
                    logged += bytes.Length;
                }
                var header = new Dictionary<string, object> { { "type", "log" }, { "id", id }, { "stream", stream } };
                if (!discarding)
                    channel.Send(header, bytes);
            }
        }
    }

    /// Console.Out or Console.Error: buffered until a line ends, then sent as the stream's log.
    internal sealed class LogWriter : TextWriter
    {
        private const int Chunk = 8192;
        private readonly string stream;
        private readonly StringBuilder buffer = new StringBuilder();

        public LogWriter(string stream)
        {
            this.stream = stream;
        }

        public override Encoding Encoding
        {
            get { return Encoding.UTF8; }
        }

        public override void Write(char value)
        {
            lock (buffer)
            {
                buffer.Append(value);
                if (value == '\n' || buffer.Length >= Chunk)
                    Flush();
            }
        }

        public override void Write(string value)
        {
            if (value == null)
                return;
            lock (buffer)
            {
                buffer.Append(value);
                if (value.IndexOf('\n') >= 0 || buffer.Length >= Chunk)
                    Flush();
            }
        }

        public override void Write(char[] chars, int index, int count)
        {
            Write(new string(chars, index, count));
        }

        public override void Flush()
        {
            string text;
            lock (buffer)
            {
                text = buffer.ToString();
                buffer.Clear();
            }
            Output.Send(stream, text);
        }
    }
}
