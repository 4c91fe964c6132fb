using System.Diagnostics;
using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Prometheus;

namespace Fleet.Hosting.Prometheus;

/// <summary>
/// grpc_server_handled_total and grpc_server_handling_seconds, named as grpc-ecosystem's go-grpc-prometheus
/// names them so existing dashboards apply. Read from what the server sent (grpc-status in trailers, or in
/// the headers of a trailers-only answer), so calls refused before any handler ran count too. Labels come
/// from the mapped method: a path no service maps counts as service and method "unknown", which keeps the
/// series bounded whatever clients send.
/// </summary>
public sealed class GrpcServerMetrics
{
    private const string Unknown = "unknown";

    private readonly Counter _handled;
    private readonly Histogram _handling;

    public GrpcServerMetrics(ProcessMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _handled = metrics.Factory.CreateCounter(
            "grpc_server_handled_total", "gRPC calls completed on the server, by method and status code.",
            new CounterConfiguration { LabelNames = ["grpc_type", "grpc_service", "grpc_method", "grpc_code"] });
        _handling = metrics.Factory.CreateHistogram(
            "grpc_server_handling_seconds", "Time from a call's arrival to its status, by method (streams last as long as they are open).",
            new HistogramConfiguration { LabelNames = ["grpc_type", "grpc_service", "grpc_method"], Buckets = [0.001, 0.005, 0.025, 0.1, 0.5, 2.5, 10, 60, 600] });
    }

    /// <summary>Middleware: measures each gRPC request (content type application/grpc*).</summary>
    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) != true)
        {
            await next(context);
            return;
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            await next(context);
        }
        finally
        {
            var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method;
            var type = method is null ? Unknown : TypeName(method.Type);
            var service = method?.ServiceName ?? Unknown;
            var name = method?.Name ?? Unknown;
            _handled.WithLabels(type, service, name, StatusOf(context)).Inc();
            _handling.WithLabels(type, service, name).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        }
    }

    /// <summary>The status the server sent, as go-grpc-prometheus spells it ("OK", "NotFound", ...).</summary>
    private static string StatusOf(HttpContext context)
    {
        var trailers = context.Features.Get<IHttpResponseTrailersFeature>()?.Trailers;
        var status = trailers is not null && trailers.TryGetValue("grpc-status", out var fromTrailers) ? fromTrailers.ToString()
            : context.Response.Headers.TryGetValue("grpc-status", out var fromHeaders) ? fromHeaders.ToString()
            : null;
        return int.TryParse(status, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code)
            && Enum.IsDefined((global::Grpc.Core.StatusCode)code)
            ? ((global::Grpc.Core.StatusCode)code).ToString()
            : context.RequestAborted.IsCancellationRequested ? "Cancelled" : Unknown;
    }

    private static string TypeName(global::Grpc.Core.MethodType type) => type switch
    {
        global::Grpc.Core.MethodType.Unary => "unary",
        global::Grpc.Core.MethodType.ClientStreaming => "client_stream",
        global::Grpc.Core.MethodType.ServerStreaming => "server_stream",
        _ => "bidi_stream",
    };
}
