using System.Diagnostics;
using System.Threading.Channels;
using Fleet.Agent.Archive.Hosting;
using Fleet.Agent.Archive.Verification;
using Fleet.Protos.V1;
using Grpc.Core;

namespace Fleet.Agent.Api;

// AgentService.VerifyArchive: progress while a verification runs, then one message with the result.
internal sealed partial class AgentApi
{
    /// <summary>How long a call waits for a verification already running (the periodic one) before RESOURCE_EXHAUSTED.</summary>
    internal static readonly TimeSpan VerifyBusyWait = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(200);

    public override async Task VerifyArchive(VerifyArchiveRequest request, IServerStreamWriter<VerifyArchiveProgress> responseStream, ServerCallContext context)
    {
        var service = context.GetHttpContext().RequestServices.GetService<ArchiveVerificationService>();
        if (service is not { Enabled: true })
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "this node has no WAL archive to verify (Archive:Location is not set)"));
        }

        var cancellationToken = context.CancellationToken;
        var updates = Channel.CreateBounded<VerificationProgress>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
        var last = new VerificationProgress();
        var pump = Task.Run(async () =>
        {
            var sent = Stopwatch.StartNew();
            await foreach (var update in updates.Reader.ReadAllAsync(cancellationToken))
            {
                last = update;
                if (sent.Elapsed >= ProgressInterval || update.SegmentsDone == update.SegmentsTotal)
                {
                    await responseStream.WriteAsync(ToProto(update), cancellationToken);
                    sent.Restart();
                }
            }
        }, cancellationToken);

        ArchiveStatus? status;
        try
        {
            status = await service.TryVerifyAsync(request.Deep, update => updates.Writer.TryWrite(update), VerifyBusyWait, cancellationToken);
        }
        finally
        {
            updates.Writer.TryComplete();
        }

        await pump;
        if (status is null)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, "a verification of this node's archive is already running; try again when it has finished"));
        }

        var final = ToProto(last);
        final.SegmentsDone = final.SegmentsTotal;
        final.Result = status;
        await responseStream.WriteAsync(final, cancellationToken);
    }

    private static VerifyArchiveProgress ToProto(VerificationProgress update) => new()
    {
        SegmentsDone = update.SegmentsDone,
        SegmentsTotal = update.SegmentsTotal,
        BytesDone = update.BytesDone,
        BytesTotal = update.BytesTotal,
        CurrentSegment = update.CurrentSegment,
    };
}
