using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Aliyun.Serverless.Core;
using Microsoft.Extensions.Logging;

namespace Sluice.Runtime
{
    /// What a runtime started before its function is known (a standby) can do ahead: run the bootstrap's own
    /// path of an invocation on handlers of its own, so that Mono has compiled it (frames read and written,
    /// the context, the logger and its library, reflection's call, the answer's encodings, an exception's
    /// trace) before a function's first call needs it. Measured on a busy machine: the first call after a
    /// start from a standby took 12.7 ms (median of 14) without it, 7.1 ms with it. Nothing of it is sent:
    /// what it logs is dropped, and its answers are not written.
    internal static class Warmup
    {
        public static void Run()
        {
            var parameters = new FunctionParameter
            {
                FunctionName = "warmup",
                FunctionHandler = "Sluice::Sluice.Runtime.Warmup::Text",
                MemoryLimitInMB = 128,
                TimeoutInSeconds = 3,
            };
            var credentials = new NoCredentials();
            Output.Discarding(() =>
            {
                foreach (var name in new[] { "Text", "Structured", "Bytes", "Fail" })
                {
                    var frame = Frame("{\"type\":\"invoke\",\"id\":1,\"requestId\":\"warmup\",\"qualifier\":\"LATEST\",\"versionId\":\"LATEST\"}");
                    byte[] body;
                    var reply = Program.Answer(frame, Handler.Of(typeof(Warmup).GetMethod(name)), parameters, credentials, out body);
                    Json.Write(reply);
                }
            });
        }

        private static Frame Frame(string header)
        {
            var parsed = (Dictionary<string, object>)Json.Parse(header);
            return new Frame { Header = parsed, Body = Encoding.UTF8.GetBytes("{\"warm\": [1, 2.5, true, null]}") };
        }

        public static string Text(Stream input, IFcContext context)
        {
            context.Logger.LogInformation("{0} {1}", context.ServiceMeta.Qualifier, context.ServiceMeta.VersionId);
            Console.WriteLine(new StreamReader(input).ReadToEnd());
            Console.Error.WriteLine(context.RequestId);
            return "warm";
        }

        public static object Structured(Stream input, IFcContext context)
        {
            return new Dictionary<string, object> { { "statusCode", 200 }, { "body", new List<object> { "a", 1.5, false } } };
        }

        public static Stream Bytes(Stream input, IFcContext context)
        {
            return new MemoryStream(new byte[] { 1, 2, 3 });
        }

        public static string Fail(Stream input, IFcContext context)
        {
            throw new InvalidOperationException("warm");
        }
    }
}
