using System.CommandLine;
using System.Globalization;
using Fleet.Protos.V1;
using Grpc.Core;

namespace Fleet.Cli.Commands;

/// <summary>
/// Operator role changes through the aggregator: switchover and manual failover. Both return when the
/// change completed, failed or was refused, and print the decision with its reasons. Exit codes: 0
/// completed, 1 failed (or an RPC error), 2 bad request, 3 refused.
/// </summary>
internal static class RoleCommands
{
    public static IEnumerable<Command> Create()
    {
        var switchover = new Command("switchover", "Planned change of primary: fence the primary, promote a replica, the old primary rejoins as a replica");
        var switchoverOptions = new RoleOptions(switchover);
        switchover.SetAction((result, ct) => Run(result, switchoverOptions, "Switchover", (client, call) =>
        {
            var request = new SwitchoverRequest { Cluster = result.GetValue(switchoverOptions.Cluster)!, Candidate = result.GetValue(switchoverOptions.To) ?? string.Empty, Operator = switchoverOptions.Operator(result) };
            if (result.GetValue(switchoverOptions.ExpectedEpoch) is { } epoch)
            {
                request.ExpectedEpoch = epoch;
            }

            return client.SwitchoverAsync(request, call).ResponseAsync;
        }, ct));

        var failover = new Command("failover", "Manual failover: promote a replica without the primary's cooperation (never skips fencing); cross-region only with an override");
        var failoverOptions = new RoleOptions(failover);
        var allowCrossRegion = new Option<bool>("--allow-cross-region") { Description = "Promote a local replica of a cluster whose primary is in another region (needs --cross-region-reason and --to)" };
        var crossRegionReason = new Option<string>("--cross-region-reason") { Description = "Why crossing regions is acceptable (audited)" };
        var abandonPending = new Option<bool>("--abandon-pending-promotion") { Description = "Promote another node although an unconfirmed promotion is pending (you assert that node is not and will not become a primary)" };
        failover.Options.Add(allowCrossRegion);
        failover.Options.Add(crossRegionReason);
        failover.Options.Add(abandonPending);
        failover.SetAction((result, ct) => Run(result, failoverOptions, "Failover", (client, call) =>
        {
            var request = new FailoverRequest
            {
                Cluster = result.GetValue(failoverOptions.Cluster)!,
                Candidate = result.GetValue(failoverOptions.To) ?? string.Empty,
                Operator = failoverOptions.Operator(result),
                AllowCrossRegion = result.GetValue(allowCrossRegion),
                CrossRegionReason = result.GetValue(crossRegionReason) ?? string.Empty,
                AbandonPendingPromotion = result.GetValue(abandonPending),
            };
            if (result.GetValue(failoverOptions.ExpectedEpoch) is { } epoch)
            {
                request.ExpectedEpoch = epoch;
            }

            return client.FailoverAsync(request, call).ResponseAsync;
        }, ct));

        return [switchover, failover];
    }

    private static Task<int> Run(ParseResult result, RoleOptions options, string what, Func<FleetService.FleetServiceClient, CallOptions, Task<RoleChangeResponse>> call, CancellationToken ct) =>
        QueryCommands.CallAsync(result.GetValue(QueryCommands.Aggregator)!, async channel =>
        {
            var response = await call(new FleetService.FleetServiceClient(channel), new CallOptions(deadline: DateTime.UtcNow + result.GetValue(options.Wait), cancellationToken: ct));
            if (result.GetValue(QueryCommands.Json))
            {
                Output.WriteJson(Console.Out, response);
            }
            else
            {
                Print(what, response.Decision);
            }

            return response.Decision.Outcome switch
            {
                DecisionOutcome.Completed => 0,
                DecisionOutcome.Refused => 3,
                _ => 1,
            };
        });

    private static void Print(string what, FailoverDecision decision)
    {
        var outcome = Output.Word(decision.Outcome);
        var change = $"{(decision.OldPrimary.Length > 0 ? decision.OldPrimary : "(other region)")} -> {(decision.NewPrimary.Length > 0 ? decision.NewPrimary : "-")}";
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what} of {decision.Cluster}: {outcome}, {change}, epoch {decision.Epoch}, timeline {decision.NewTimeline}, {decision.DurationMs} ms, by {decision.Actor}"));
        foreach (var reason in decision.Reasons)
        {
            Console.Out.WriteLine("  - " + reason);
        }
    }

    /// <summary>The options both commands share.</summary>
    private sealed class RoleOptions
    {
        public RoleOptions(Command command)
        {
            command.Arguments.Add(Cluster);
            command.Options.Add(To);
            command.Options.Add(Reason);
            command.Options.Add(OperatorName);
            command.Options.Add(ExpectedEpoch);
            command.Options.Add(Wait);
        }

        public Argument<string> Cluster { get; } = new("cluster") { Description = "Cluster name" };

        public Option<string> To { get; } = new("--to") { Description = "Replica to promote (default: the best eligible one)" };

        public Option<string> Reason { get; } = new("--reason") { Description = "Why (required, audited)", Required = true };

        public Option<string> OperatorName { get; } = new("--operator")
        {
            Description = "Who asks (recorded without TLS; under mTLS the certificate's CN is)",
            DefaultValueFactory = _ => Environment.UserName,
        };

        public Option<ulong?> ExpectedEpoch { get; } = new("--expected-epoch") { Description = "Refuse (ABORTED) unless the cluster is at this epoch" };

        public Option<TimeSpan> Wait { get; } = new("--wait") { Description = "Deadline of the call (a role change takes seconds)", DefaultValueFactory = _ => TimeSpan.FromSeconds(90) };

        public OperatorContext Operator(ParseResult result) => new() { Operator = result.GetValue(OperatorName) ?? string.Empty, Reason = result.GetValue(Reason) ?? string.Empty };
    }
}
