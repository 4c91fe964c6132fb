using Fleet.Agent.Api;
using Fleet.Agent.Configuration;
using Fleet.Agent.Tests.Host;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Tests.Api;

/// <summary>Actions:Timeout and where the audit file goes, as AgentHost.Build sets them up (nothing is started).</summary>
public sealed class OperatorActionsConfigurationTests
{
    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:00:01")]
    public void ActionsTimeout_NotPositive_RefusedNamingTheKey(string value)
    {
        var settings = RunningAgent.BaseSettings("config-actions");
        settings["Actions:Timeout"] = value;

        var error = Assert.Throws<OptionsValidationException>(() => AgentHost.Build(null, settings));

        Assert.Equal($"Actions:Timeout must be a positive duration (got {value}).", Assert.Single(error.Failures));
    }

    [Fact]
    public async Task Defaults_FiveMinuteTimeout_NoAuditFileWithoutAStateDirectory()
    {
        await using var app = AgentHost.Build(null, RunningAgent.BaseSettings("config-actions"));

        Assert.Equal(TimeSpan.FromMinutes(5), app.Services.GetRequiredService<IOptions<AgentOptions>>().Value.Actions.Timeout);
        Assert.Null(app.Services.GetRequiredService<OperatorAudit>().FilePath);
    }

    [Fact]
    public async Task AuditFile_IsInTheStateDirectory_DefaultBesideTheDataDirectory()
    {
        var settings = RunningAgent.BaseSettings("config-actions");
        settings["Actions:Timeout"] = "00:00:30";
        var root = Directory.CreateTempSubdirectory("fleet-agent-audit-config-").FullName;
        try
        {
            settings["Postgres:DataDirectory"] = Path.Combine(root, "data");
            await using (var app = AgentHost.Build(null, settings))
            {
                Assert.Equal(Path.Combine(root, "fleet-agent-config-actions", "audit.jsonl"), app.Services.GetRequiredService<OperatorAudit>().FilePath);
                Assert.Equal(TimeSpan.FromSeconds(30), app.Services.GetRequiredService<IOptions<AgentOptions>>().Value.Actions.Timeout);
            }

            settings["Node:StateDirectory"] = Path.Combine(root, "state");
            await using (var app = AgentHost.Build(null, settings))
            {
                Assert.Equal(Path.Combine(root, "state", "audit.jsonl"), app.Services.GetRequiredService<OperatorAudit>().FilePath);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
