using Fleet.Agent.State;
using Fleet.Protos.V1;
using Google.Protobuf;

namespace Fleet.Agent.Tests.Link;

/// <summary>One link stream between a real agent and a fake aggregator: hello, Welcome, reports, commands and their results.</summary>
public sealed class LinkSessionTests
{
    [Fact]
    public async Task Connect_FirstMessageIsHelloWithIdentityTagsAndInstance_ThenConnectedAfterWelcome()
    {
        await using var aggregator = await FakeAggregator.StartAsync();
        aggregator.AutoWelcome = false;
        await using var agent = await LinkTestAgent.StartAsync(aggregator, "link-hello", configure: settings =>
        {
            settings["Node:Zone"] = "zone-c";
            settings["Node:NoFailover"] = "true";
            settings["Node:CandidatePriority"] = "7";
        });

        var connection = await aggregator.NextConnectionAsync(LinkTestAgent.Timeout);
        var hello = connection.Hello;

        Assert.Equal(new NodeIdentity { Name = "link-hello", Cluster = "agent-tests", Region = "test-region", Zone = "zone-c" }, hello.Identity);
        Assert.Equal(new NodeTags { NoFailover = true, CandidatePriority = 7 }, hello.Tags);
        Assert.Equal(agent.State.InstanceId, hello.InstanceId);
        Assert.Equal(32, hello.InstanceId.Length);
        Assert.Equal(AgentState.Version, hello.AgentVersion);
        Assert.Contains("collect_now", hello.Capabilities);
        Assert.Equal(0UL, hello.HighestEpochSeen);
        Assert.False(hello.Fenced);
        Assert.Equal("10.1.2.3", hello.AdvertiseHost); // Replication:Host (Postgres:Host is a socket directory)
        Assert.Equal(5432U, hello.AdvertisePort);
        Assert.Equal(LinkState.Connecting, (await agent.GetStatusAsync()).Link.State);

        await connection.WelcomeAsync();

        var status = await agent.WaitForStatusAsync(s => s.Link.State == LinkState.Connected, LinkTestAgent.Timeout, "link connected");
        Assert.Equal(FakeAggregator.AggregatorId, status.Link.AggregatorId);
        Assert.Equal(aggregator.Endpoint, status.Link.Address);
        Assert.Single(aggregator.Attempts);
    }

    [Fact]
    public async Task AfterWelcome_ReportsCarrySnapshotsWithSequenceFromOne()
    {
        await using var aggregator = await FakeAggregator.StartAsync();
        await using var agent = await LinkTestAgent.StartAsync(aggregator, "link-reports", interval: TimeSpan.FromMilliseconds(100));
        var connection = await aggregator.NextConnectionAsync(LinkTestAgent.Timeout);

        var reports = new List<AgentReport>();
        for (var i = 0; i < 5; i++)
        {
            reports.Add(await connection.NextReportAsync());
        }

        Assert.Equal([1UL, 2UL, 3UL, 4UL, 5UL], reports.Select(r => r.Sequence));
        Assert.All(reports, r =>
        {
            Assert.NotNull(r.Snapshot);
            Assert.Equal(PostgresState.Down, r.Snapshot.PostgresState);
            Assert.False(r.Fenced);
        });
        var collected = reports.Select(r => r.Snapshot.CollectedAt.ToDateTimeOffset()).ToList();
        Assert.True(collected.Zip(collected.Skip(1)).All(p => p.First < p.Second), "each report carries a newer snapshot: " + string.Join(", ", collected));
        await agent.WaitForStatusAsync(s => s.Link.LastReportSequence >= 5, LinkTestAgent.Timeout, "last_report_sequence to reach 5");
        Assert.Empty(agent.Logs.Errors);
    }

    [Fact]
    public async Task CommandsNotAdvertised_AnsweredUnsupportedWithTheirCommandId()
    {
        await using var aggregator = await FakeAggregator.StartAsync();
        await using var agent = await LinkTestAgent.StartAsync(aggregator, "link-unsupported", interval: TimeSpan.FromSeconds(1));
        var connection = await aggregator.NextConnectionAsync(LinkTestAgent.Timeout);
        // A command of a newer aggregator: a oneof case this agent's contract does not have yet
        // (field 18, an empty message: tag 18 << 3 | 2 = 0x92 0x01 as a varint, length 0).
        var future = AggregatorCommand.Parser.ParseFrom(
            [.. new AggregatorCommand { CommandId = "future-1", Epoch = 5 }.ToByteArray(), 0x92, 0x01, 0x00]);
        // Known commands whose capability the hello does not list (link.proto: "Other commands are answered UNSUPPORTED").
        var notAdvertised = KnownCommands(epoch: 5).Where(c => !connection.Hello.Capabilities.Contains(c.Capability)).Select(c => c.Command);

        foreach (var command in notAdvertised.Prepend(future))
        {
            await connection.SendAsync(command);
            var (result, _) = await connection.ResultOfAsync(command.CommandId);

            Assert.Equal(CommandOutcome.Unsupported, result.Outcome);
            Assert.Equal(command.CommandId, result.CommandId);
            Assert.Equal(5UL, result.Epoch);
            Assert.Contains("does not support", result.Message, StringComparison.Ordinal);
            Assert.NotNull(result.StartedAt);
            Assert.NotNull(result.FinishedAt);
        }

        var status = await agent.GetStatusAsync();
        Assert.False(status.Fenced);
        Assert.Equal(LinkState.Connected, status.Link.State);
        Assert.Empty(agent.Logs.Errors);
    }

    [Fact]
    public async Task Hello_AdvertisesOnlyCapabilitiesTheContractNames()
    {
        await using var aggregator = await FakeAggregator.StartAsync();
        await using var agent = await LinkTestAgent.StartAsync(aggregator, "link-capabilities");
        var connection = await aggregator.NextConnectionAsync(LinkTestAgent.Timeout);

        string[] contract = ["promote", "fence", "follow", "rejoin", "rewind", "verify_archive", "verify_archive_deep", "collect_now", "lease"];
        Assert.All(connection.Hello.Capabilities, c => Assert.Contains(c, contract));
        Assert.Equal(connection.Hello.Capabilities.Distinct(), connection.Hello.Capabilities);
    }

    [Fact]
    public async Task CollectNowCommand_SucceedsNamingTheFreshReportItSent()
    {
        await using var aggregator = await FakeAggregator.StartAsync();
        // A long interval: the report the command names cannot be a periodic one.
        await using var agent = await LinkTestAgent.StartAsync(aggregator, "link-collect", interval: TimeSpan.FromSeconds(30));
        var connection = await aggregator.NextConnectionAsync(LinkTestAgent.Timeout);
        var periodic = await connection.NextReportAsync();

        var sentAt = DateTimeOffset.UtcNow;
        await connection.SendAsync(new AggregatorCommand { CommandId = "collect-1", CollectNow = new CollectNowCommand() });
        var (result, reports) = await connection.ResultOfAsync("collect-1");

        Assert.Equal(CommandOutcome.Succeeded, result.Outcome);
        Assert.Equal("collect-1", result.CommandId);
        var named = Assert.Single(reports, r => r.Sequence == result.ReportSequence);
        Assert.True(named.Sequence > periodic.Sequence);
        Assert.True(named.Snapshot.CollectedAt.ToDateTimeOffset() >= sentAt.AddMilliseconds(-1), $"snapshot of {named.Snapshot.CollectedAt} predates the command ({sentAt:O})");
        Assert.True((await agent.GetStatusAsync()).Link.LastReportSequence >= named.Sequence);
    }

    [Fact]
    public async Task CollectNowCommand_ItsSnapshotIsReportedOnce()
    {
        await using var aggregator = await FakeAggregator.StartAsync();
        await using var agent = await LinkTestAgent.StartAsync(aggregator, "link-collect-once", interval: TimeSpan.FromSeconds(30));
        var connection = await aggregator.NextConnectionAsync(LinkTestAgent.Timeout);
        await connection.NextReportAsync();

        await connection.SendAsync(new AggregatorCommand { CommandId = "collect-a", CollectNow = new CollectNowCommand() });
        var (first, reportsA) = await connection.ResultOfAsync("collect-a");
        var collectedAt = reportsA.Single(r => r.Sequence == first.ReportSequence).Snapshot.CollectedAt;

        // A second command's round trip gathers whatever the periodic loop sent after the first result.
        await connection.SendAsync(new AggregatorCommand { CommandId = "collect-b", CollectNow = new CollectNowCommand() });
        var (_, reportsB) = await connection.ResultOfAsync("collect-b");

        Assert.Single(reportsA.Concat(reportsB), r => Equals(r.Snapshot?.CollectedAt, collectedAt));
    }

    [Fact]
    public async Task CommandWithOlderEpoch_RefusedStaleEpochAndNothingChanges()
    {
        await using var aggregator = await FakeAggregator.StartAsync();
        await using var agent = await LinkTestAgent.StartAsync(aggregator, "link-epoch", interval: TimeSpan.FromSeconds(1));
        var connection = await aggregator.NextConnectionAsync(LinkTestAgent.Timeout);

        await connection.SendAsync(new AggregatorCommand { CommandId = "collect-10", Epoch = 10, CollectNow = new CollectNowCommand() });
        var (current, _) = await connection.ResultOfAsync("collect-10");
        await connection.SendAsync(new AggregatorCommand { CommandId = "fence-9", Epoch = 9, Fence = new FenceCommand { Mode = FenceMode.ReadOnly } });
        var (stale, _) = await connection.ResultOfAsync("fence-9");
        await connection.SendAsync(new AggregatorCommand { CommandId = "collect-9", Epoch = 9, CollectNow = new CollectNowCommand() });
        var (staleSupported, _) = await connection.ResultOfAsync("collect-9");
        await connection.SendAsync(new AggregatorCommand { CommandId = "collect-10b", Epoch = 10, CollectNow = new CollectNowCommand() });
        var (same, _) = await connection.ResultOfAsync("collect-10b");

        Assert.Equal(CommandOutcome.Succeeded, current.Outcome);
        Assert.Equal(CommandOutcome.RefusedStaleEpoch, stale.Outcome);
        Assert.Equal("fence-9", stale.CommandId);
        Assert.Equal(10UL, stale.Epoch); // the agent's highest, so the aggregator learns it
        Assert.Equal("epoch 9 is older than 10", stale.Message);
        Assert.Equal(CommandOutcome.RefusedStaleEpoch, staleSupported.Outcome);
        Assert.Equal(0UL, staleSupported.ReportSequence);
        Assert.Equal(CommandOutcome.Succeeded, same.Outcome); // an equal epoch is not stale
        var status = await agent.GetStatusAsync();
        Assert.Equal(10UL, status.HighestEpochSeen);
        Assert.False(status.Fenced);
        var report = await connection.NextReportAsync();
        Assert.Equal(10UL, report.HighestEpochSeen);
        Assert.Empty(agent.Logs.Errors);
    }

    private static IEnumerable<(string Capability, AggregatorCommand Command)> KnownCommands(ulong epoch) =>
    [
        ("promote", new AggregatorCommand { CommandId = "promote-1", Epoch = epoch, Promote = new PromoteCommand() }),
        ("fence", new AggregatorCommand { CommandId = "fence-1", Epoch = epoch, Fence = new FenceCommand { Mode = FenceMode.ReadOnly } }),
        ("follow", new AggregatorCommand { CommandId = "follow-1", Epoch = epoch, Follow = new FollowCommand { Upstream = new Upstream { Node = "n2" } } }),
        ("rejoin", new AggregatorCommand { CommandId = "rejoin-1", Epoch = epoch, Rejoin = new RejoinCommand { Upstream = new Upstream { Node = "n2" } } }),
        ("verify_archive", new AggregatorCommand { CommandId = "verify-1", Epoch = epoch, VerifyArchiveNow = new VerifyArchiveNowCommand() }),
        ("verify_archive_deep", new AggregatorCommand { CommandId = "verify-deep-1", Epoch = epoch, VerifyArchiveNow = new VerifyArchiveNowCommand { Deep = true } }),
    ];

    [Fact]
    public async Task Welcome_EnvelopeEpochAdopted_OlderCommandsRefused()
    {
        await using var aggregator = await FakeAggregator.StartAsync();
        aggregator.WelcomeEpoch = 42;
        await using var agent = await LinkTestAgent.StartAsync(aggregator, "link-welcome-epoch", interval: TimeSpan.FromSeconds(1));
        var connection = await aggregator.NextConnectionAsync(LinkTestAgent.Timeout);

        await agent.WaitForStatusAsync(s => s.HighestEpochSeen == 42, LinkTestAgent.Timeout, "highest_epoch_seen 42 from the Welcome");
        await connection.SendAsync(new AggregatorCommand { CommandId = "collect-41", Epoch = 41, CollectNow = new CollectNowCommand() });
        var (result, _) = await connection.ResultOfAsync("collect-41");

        Assert.Equal(CommandOutcome.RefusedStaleEpoch, result.Outcome);
    }
}
