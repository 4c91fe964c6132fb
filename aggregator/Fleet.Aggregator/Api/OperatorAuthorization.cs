using Fleet.Aggregator.Ingest;
using Fleet.Protos.V1;
using Grpc.Core;

namespace Fleet.Aggregator.Api;

/// <summary>
/// Who may change roles. Under mutual TLS: only clients whose certificate has OU=operators (agents'
/// certificates carry their region in OU, so an agent can never ask for a switchover); the actor is the
/// certificate's CN. Without TLS (development), anyone who can reach the port, recorded by the name they
/// give and their address. Every request names a reason.
/// </summary>
internal static class OperatorAuthorization
{
    public const string OperatorsUnit = "operators";

    public static string Authorize(ServerCallContext context, OperatorContext? request)
    {
        if (request is null || string.IsNullOrWhiteSpace(request.Reason))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "operator.reason is required: role changes are audited"));
        }

        if (context.GetHttpContext().Connection.ClientCertificate is { } certificate)
        {
            var (unit, name) = RegionAdmission.ReadSubject(certificate);
            if (unit != OperatorsUnit)
            {
                throw new RpcException(new Status(StatusCode.PermissionDenied, $"certificate '{certificate.Subject}' is not an operator's (OU={OperatorsUnit})"));
            }

            return name ?? certificate.Subject;
        }

        var who = string.IsNullOrWhiteSpace(request.Operator) ? "anonymous" : request.Operator;
        return $"{who}@{context.Peer} (unauthenticated: no TLS)";
    }
}
