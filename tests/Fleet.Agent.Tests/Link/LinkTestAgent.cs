using Fleet.Agent.Tests.Host;
using Fleet.Protos.V1;

namespace Fleet.Agent.Tests.Link;

/// <summary>Agents dialling a <see cref="FakeAggregator"/>. Their PostgreSQL is absent: the link carries DOWN snapshots, which is all it needs.</summary>
internal static class LinkTestAgent
{
    /// <summary>Bound for anything the link does on its own: dial, hello, a report, a command result.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    public static Task<RunningAgent> StartAsync(
        FakeAggregator aggregator, string name, TimeSpan? interval = null, TimeSpan? minDelay = null, TimeSpan? maxDelay = null,
        Action<Dictionary<string, string?>>? configure = null)
    {
        var settings = RunningAgent.SettingsWithoutPostgres(name, interval ?? TimeSpan.FromMilliseconds(200));
        settings["Aggregator:Endpoints:0"] = aggregator.Endpoint;
        settings["Replication:Host"] = "10.1.2.3"; // Postgres:Host is a socket directory: peers need an address
        settings["Aggregator:ReconnectMinDelay"] = (minDelay ?? TimeSpan.FromMilliseconds(200)).ToString();
        settings["Aggregator:ReconnectMaxDelay"] = (maxDelay ?? TimeSpan.FromSeconds(2)).ToString();
        configure?.Invoke(settings);
        return RunningAgent.StartAsync(settings);
    }

    /// <summary>The next message that is a report, skipping nothing: anything else fails the test.</summary>
    public static async Task<AgentReport> NextReportAsync(this LinkConnection connection)
    {
        var (message, _) = await connection.NextAsync(Timeout);
        Assert.True(message.BodyCase == AgentMessage.BodyOneofCase.Report, $"expected a report, got {message}");
        return message.Report;
    }

    /// <summary>Reads until the result of <paramref name="commandId"/>, returning it and the reports that came before it.</summary>
    public static async Task<(CommandResult Result, List<AgentReport> ReportsBefore)> ResultOfAsync(this LinkConnection connection, string commandId)
    {
        var reports = new List<AgentReport>();
        while (true)
        {
            var (message, _) = await connection.NextAsync(Timeout);
            switch (message.BodyCase)
            {
                case AgentMessage.BodyOneofCase.Report:
                    reports.Add(message.Report);
                    break;
                case AgentMessage.BodyOneofCase.CommandResult when message.CommandResult.CommandId == commandId:
                    return (message.CommandResult, reports);
                default:
                    Assert.Fail($"unexpected message while waiting for the result of {commandId}: {message}");
                    break;
            }
        }
    }
}
