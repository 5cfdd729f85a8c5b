// The interfaces of Function Compute's Aliyun.Serverless.Core that a C# handler is given: its context with the
// request id, the function's parameters, the service's qualifier and version id, and a logger. Sluice builds
// this assembly from this file, with the same name, so that handlers written for Function Compute compile
// unchanged; the bootstrap implements the interfaces.
using Microsoft.Extensions.Logging;

namespace Aliyun.Serverless.Core
{
    public interface IFcContext
    {
        string RequestId { get; }
        IFunctionParameter FunctionParam { get; }
        IServiceMeta ServiceMeta { get; }
        /// Writes to the invocation's log.
        ILogger Logger { get; }
        /// Sluice hands out no cloud credentials: the three fields are empty.
        ICredentials Credentials { get; }
        string Region { get; }
        string AccountId { get; }
    }

    public interface IFunctionParameter
    {
        string FunctionName { get; }
        string FunctionHandler { get; }
        int MemoryLimitInMB { get; }
        int TimeoutInSeconds { get; }
    }

    public interface IServiceMeta
    {
        string ServiceName { get; }
        /// What the caller named: LATEST, a version number or an alias.
        string Qualifier { get; }
        /// The version that runs.
        string VersionId { get; }
    }

    public interface ICredentials
    {
        string AccessKeyId { get; }
        string AccessKeySecret { get; }
        string SecurityToken { get; }
    }
}
