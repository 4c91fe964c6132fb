using Microsoft.Extensions.Logging;

namespace Fleet.Rpc.Server;

/// <summary>Server-side log messages, with stable event ids.</summary>
internal static partial class RpcServerLog
{
    [LoggerMessage(EventId = 1001, EventName = "CallFailedWithStatus", Level = LogLevel.Information,
        Message = "Call {Method} ended with {StatusCode}: {Detail}")]
    public static partial void CallFailedWithStatus(ILogger logger, string method, StatusCode statusCode, string detail);

    [LoggerMessage(EventId = 1002, EventName = "HandlerException", Level = LogLevel.Error,
        Message = "Handler of {Method} threw an unexpected exception")]
    public static partial void HandlerException(ILogger logger, string method, Exception exception);

    [LoggerMessage(EventId = 1003, EventName = "DeadlineExceeded", Level = LogLevel.Debug,
        Message = "Call {Method} exceeded its deadline")]
    public static partial void DeadlineExceeded(ILogger logger, string method);

    [LoggerMessage(EventId = 1004, EventName = "CallCancelled", Level = LogLevel.Debug,
        Message = "Call {Method} was cancelled by the client")]
    public static partial void CallCancelled(ILogger logger, string method);

    [LoggerMessage(EventId = 1005, EventName = "RequestRejected", Level = LogLevel.Information,
        Message = "Rejected request to {Path}: {Reason}")]
    public static partial void RequestRejected(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 1006, EventName = "MethodNotImplemented", Level = LogLevel.Debug,
        Message = "No handler for {Path}: answered UNIMPLEMENTED")]
    public static partial void MethodNotImplemented(ILogger logger, string path);

    [LoggerMessage(EventId = 1007, EventName = "ServiceBound", Level = LogLevel.Debug,
        Message = "Bound {Service}: {Implemented} of {Total} methods implemented")]
    public static partial void ServiceBound(ILogger logger, string service, int implemented, int total);
}
