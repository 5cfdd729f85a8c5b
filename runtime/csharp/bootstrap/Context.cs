using System;
using System.Globalization;
using Aliyun.Serverless.Core;
using Microsoft.Extensions.Logging;

namespace Sluice.Runtime
{
    /// The function's parameters, as the init frame gives them.
    internal sealed class FunctionParameter : IFunctionParameter
    {
        public string FunctionName { get; set; }
        public string FunctionHandler { get; set; }
        public int MemoryLimitInMB { get; set; }
        public int TimeoutInSeconds { get; set; }
    }

    internal sealed class ServiceMeta : IServiceMeta
    {
        public string ServiceName { get; set; }
        public string Qualifier { get; set; }
        public string VersionId { get; set; }
    }

    internal sealed class NoCredentials : ICredentials
    {
        public string AccessKeyId { get { return ""; } }
        public string AccessKeySecret { get { return ""; } }
        public string SecurityToken { get { return ""; } }
    }

    /// One invocation's context.
    internal sealed class FcContext : IFcContext
    {
        public string RequestId { get; set; }
        public IFunctionParameter FunctionParam { get; set; }
        public IServiceMeta ServiceMeta { get; set; }
        public ILogger Logger { get; set; }
        public ICredentials Credentials { get; set; }
        public string Region { get { return "local"; } }
        public string AccountId { get { return "sluice"; } }
    }

    /// Writes to the invocation's log as Function Compute's C# logger does: time, request id, level, message.
    internal sealed class InvocationLogger : ILogger
    {
        private readonly string requestId;

        public InvocationLogger(string requestId)
        {
            this.requestId = requestId;
        }

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception exception, Func<TState, Exception, string> formatter)
        {
            if (!IsEnabled(logLevel))
                return;
            var message = formatter != null ? formatter(state, exception) : Convert.ToString(state, CultureInfo.InvariantCulture);
            if (exception != null)
                message += Environment.NewLine + exception;
            var time = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            Output.Stdout.Write(time + " " + requestId + " [" + Level(logLevel) + "] " + message + "\n");
        }

        public bool IsEnabled(LogLevel logLevel)
        {
            return logLevel != LogLevel.None;
        }

        public IDisposable BeginScope<TState>(TState state)
        {
            return NoScope.Instance;
        }

        private static string Level(LogLevel level)
        {
            switch (level)
            {
                case LogLevel.Trace: return "TRACE";
                case LogLevel.Debug: return "DEBUG";
                case LogLevel.Information: return "INFO";
                case LogLevel.Warning: return "WARN";
                case LogLevel.Error: return "ERROR";
                default: return "CRITICAL";
            }
        }

        private sealed class NoScope : IDisposable
        {
            public static readonly NoScope Instance = new NoScope();

            public void Dispose()
            {
            }
        }
    }
}
