// Sluice's C# runtime bootstrap on Mono: runs one function instance, speaking docs/runtime-protocol.md on fd 3.
// One process serves many invocations, one after another. Built by scripts/build-csharp.ts with the two
// assemblies handlers compile against (Aliyun.Serverless.Core, Microsoft.Extensions.Logging.Abstractions).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;
using Aliyun.Serverless.Core;

namespace Sluice.Runtime
{
    internal static class Program
    {
        private static int Main()
        {
            var channel = new Channel();
            Output.Install(channel);
            // A standby (started with no function's environment yet) has time to spare before its init; a
            // runtime started for its function has none, and compiles what its first call needs on that call.
            if (Environment.GetEnvironmentVariable("FC_FUNCTION_NAME") == null)
                Warmup.Run();
            channel.Send(new Dictionary<string, object> { { "type", "waiting" } });
            var init = channel.Read();
            if (init == null)
                return 0;
            if ((init.Header["type"] as string) != "init")
            {
                Console.Error.WriteLine("sluice bootstrap: expected an init frame");
                Output.Flush();
                return 1;
            }
            try
            {
                Standby.Specialise(init.Header);
            }
            catch (Exception e)
            {
                var fields = ErrorFields(e);
                fields["type"] = "initError";
                channel.Send(fields);
                return 1;
            }
            var fn = (Dictionary<string, object>)init.Header["function"];
            var codeDir = (string)init.Header["codeDir"];
            var parameters = new FunctionParameter
            {
                FunctionName = (string)fn["name"],
                FunctionHandler = (string)fn["handler"],
                MemoryLimitInMB = Convert.ToInt32(fn["memorySize"], CultureInfo.InvariantCulture),
                TimeoutInSeconds = Convert.ToInt32(fn["timeout"], CultureInfo.InvariantCulture),
            };
            Handler handler;
            try
            {
                handler = Handler.Load(parameters.FunctionHandler, codeDir);
            }
            catch (Exception e)
            {
                Output.Flush();
                var fields = ErrorFields(e);
                if (e is HandlerNotFoundException)
                    fields["errorType"] = "HandlerNotFound";
                fields["type"] = "initError";
                channel.Send(fields);
                return 1;
            }
            Output.Flush();
            channel.Send(new Dictionary<string, object> { { "type", "ready" } });
            Serve(channel, handler, parameters);
            return 0;
        }

        private static void Serve(Channel channel, Handler handler, FunctionParameter parameters)
        {
            var credentials = new NoCredentials();
            Frame frame;
            while ((frame = channel.Read()) != null)
            {
                if ((frame.Header["type"] as string) != "invoke")
                    continue;
                byte[] body;
                var reply = Answer(frame, handler, parameters, credentials, out body);
                channel.Send(reply, body);
            }
        }

        /// Runs one invocation: the answer's header, and its body.
        internal static Dictionary<string, object> Answer(Frame frame, Handler handler, FunctionParameter parameters, ICredentials credentials, out byte[] body)
        {
            var header = frame.Header;
            var id = (long)header["id"];
            var requestId = (string)header["requestId"];
            var context = new FcContext
            {
                RequestId = requestId,
                FunctionParam = parameters,
                ServiceMeta = new ServiceMeta
                {
                    ServiceName = parameters.FunctionName,
                    Qualifier = (string)header["qualifier"],
                    VersionId = (string)header["versionId"],
                },
                Logger = new InvocationLogger(requestId),
                Credentials = credentials,
            };
            Output.Begin(id);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            Dictionary<string, object> reply;
            body = null;
            try
            {
                string kind;
                body = Encode(handler.Invoke(new MemoryStream(frame.Body, false), context), out kind);
                reply = new Dictionary<string, object> { { "type", "result" }, { "id", id }, { "kind", kind } };
            }
            catch (Exception e)
            {
                reply = ErrorFields(e);
                reply["type"] = "error";
                reply["id"] = id;
            }
            // How long it ran here, which the server cannot tell apart from its own delays.
            reply["ms"] = watch.Elapsed.TotalMilliseconds;
            Output.End();
            return reply;
        }

        /// A string is text, a Stream (from where it stands) or byte[] is bytes, anything else JSON.
        private static byte[] Encode(object result, out string kind)
        {
            var text = result as string;
            if (text != null)
            {
                kind = "text";
                return Encoding.UTF8.GetBytes(text);
            }
            var bytes = result as byte[];
            if (bytes != null)
            {
                kind = "bytes";
                return bytes;
            }
            var stream = result as Stream;
            if (stream != null)
            {
                kind = "bytes";
                using (stream)
                using (var copy = new MemoryStream())
                {
                    stream.CopyTo(copy);
                    return copy.ToArray();
                }
            }
            kind = "json";
            return Encoding.UTF8.GetBytes(Json.Write(result));
        }

        private static Dictionary<string, object> ErrorFields(Exception e)
        {
            // What the handler threw, not reflection's wrapper of it: its trace ends at the handler's frame.
            if (e is System.Reflection.TargetInvocationException && e.InnerException != null)
                e = e.InnerException;
            var stack = new List<object>();
            foreach (var line in (e.StackTrace ?? "").Split('\n'))
            {
                // The bootstrap's own frames say nothing about the function.
                var trimmed = line.Trim();
                if (trimmed.Length > 0 && !trimmed.Contains("Sluice.Runtime.") && !trimmed.Contains("System.Reflection.") && !trimmed.Contains("(wrapper "))
                    stack.Add(trimmed);
            }
            return new Dictionary<string, object>
            {
                { "errorMessage", e.Message },
                { "errorType", e.GetType().FullName },
                { "stackTrace", stack },
            };
        }
    }
}
