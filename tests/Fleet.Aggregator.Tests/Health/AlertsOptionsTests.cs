using Fleet.Aggregator.Health;
using Fleet.Protos.V1;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Tests.Health;

/// <summary>Binding the Alerts section over the defaults, and validation naming the bad key.</summary>
public class AlertsOptionsTests
{
    private static ServiceProvider Provider(Dictionary<string, string?> settings) =>
        new ServiceCollection()
            .AddHealthRules(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();

    private static List<string> Errors(Action<AlertsOptions> configure)
    {
        var options = new AlertsOptions();
        configure(options);
        var result = new AlertsOptionsValidator().Validate(null, options);
        return result.Failures?.ToList() ?? [];
    }

    [Fact]
    public void AddHealthRules_EmptySection_AllDefaultRules()
    {
        using var provider = Provider([]);

        var rules = provider.GetRequiredService<AlertRuleSet>();

        Assert.Equal(30, rules.Rules.Count);
        var lag = rules.Find("replication_lag_warning")!.Definition;
        Assert.Equal(new AlertRuleDefinition("replication_lag_warning", Severity.Warning, 5, TimeSpan.FromMinutes(2), RuleUnit.Seconds), lag);
        Assert.Equal(300, rules.Find("replication_lag_critical")!.Definition.Threshold);
        Assert.Equal(TimeSpan.FromHours(1), rules.Find("dead_tuples_high")!.Definition.For);
        Assert.Equal(100L * 1024 * 1024, rules.Find("table_bloat_high")!.Definition.MinTableBytes);
        Assert.Equal(Severity.Critical, rules.Find("archive_out_of_region")!.Definition.Severity);
        Assert.Equal(TimeSpan.Zero, rules.Find("archive_out_of_region")!.Definition.For);
    }

    [Fact]
    public void AddHealthRules_OverrideAndDisable_OnlyNamedFieldsChange()
    {
        using var provider = Provider(new()
        {
            ["Alerts:replication_lag_warning:Threshold"] = "10",
            ["Alerts:Replication_Lag_Warning:For"] = "00:00:30",
            ["Alerts:cpu_high:Enabled"] = "false",
            ["Alerts:memory_high:Severity"] = "critical",
        });

        var rules = provider.GetRequiredService<AlertRuleSet>();

        var lag = rules.Find("replication_lag_warning")!.Definition;
        Assert.Equal(10, lag.Threshold);
        Assert.Equal(TimeSpan.FromSeconds(30), lag.For);
        Assert.Equal(Severity.Warning, lag.Severity);
        Assert.Null(rules.Find("cpu_high"));
        Assert.Equal(29, rules.Rules.Count);
        Assert.Equal(Severity.Critical, rules.Find("memory_high")!.Definition.Severity);
        Assert.Equal(85, rules.Find("memory_high")!.Definition.Threshold);
    }

    [Fact]
    public void AddHealthRules_EnvironmentVariableDoubleUnderscore_OverridesThreshold()
    {
        const string Prefix = "FLEET_HEALTH_TEST_9C41_";
        Environment.SetEnvironmentVariable(Prefix + "Alerts__replication_lag_warning__Threshold", "10");
        try
        {
            var configuration = new ConfigurationBuilder().AddEnvironmentVariables(Prefix).Build();
            using var provider = new ServiceCollection().AddHealthRules(configuration).BuildServiceProvider();

            Assert.Equal(10, provider.GetRequiredService<AlertRuleSet>().Find("replication_lag_warning")!.Definition.Threshold);
        }
        finally
        {
            Environment.SetEnvironmentVariable(Prefix + "Alerts__replication_lag_warning__Threshold", null);
        }
    }

    [Fact]
    public void AddHealthRules_InvalidThreshold_FailsNamingKey()
    {
        using var provider = Provider(new() { ["Alerts:replication_lag_warning:Threshold"] = "-1" });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<AlertsOptions>>().Value);

        Assert.Contains("Alerts:replication_lag_warning:Threshold must be positive (seconds) (got -1).", error.Failures);
    }

    [Fact]
    public void AddHealthRules_BadFieldsAndValues_AllReportedWithKeys()
    {
        using var provider = Provider(new()
        {
            ["Alerts:cpu_high:Treshold"] = "90",
            ["Alerts:cpu_high:For"] = "5 minutes",
            ["Alerts:memory_high:For"] = "5",
            ["Alerts:disk_usage_warning:Threshold"] = "lots",
            ["Alerts:disk_usage_warning:Enabled"] = "yes",
            ["Alerts:postgres_down"] = "off",
            ["Alerts:connections_high:Threshold"] = "0",
        });

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<AlertsOptions>>().Value);

        Assert.Equal(
            [
                "Alerts:connections_high:Threshold must be a percentage above 0 and at most 100 (got 0).",
                "Alerts:cpu_high:For must be a duration like 00:02:00 (got '5 minutes').",
                "Alerts:cpu_high:Treshold is not a known field; rule fields are Enabled, Severity, Threshold, For, MinTableBytes.",
                "Alerts:disk_usage_warning:Enabled must be true or false (got 'yes').",
                "Alerts:disk_usage_warning:Threshold must be a number (got 'lots').",
                "Alerts:memory_high:For must be a duration like 00:02:00 (got '5').",
                "Alerts:postgres_down must be an object with the fields Enabled, Severity, Threshold, For, MinTableBytes (got 'off').",
            ],
            error.Failures.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Validate_Defaults_NoErrors()
    {
        Assert.Empty(Errors(_ => { }));
    }

    [Fact]
    public void Validate_SeveralBadKeys_ReportsEveryOne()
    {
        var errors = Errors(o =>
        {
            o.Rules["cpu_high"].Threshold = 150;
            o.Rules["memory_high"].Severity = "page-me";
            o.Rules["disk_usage_critical"].For = TimeSpan.FromSeconds(-1);
            o.Rules["postgres_down"].Threshold = 1;
            o.Rules["connections_high"].Threshold = null;
            o.Rules["cpu_high"].MinTableBytes = 1;
            o.Rules["deadlocks_high"].Threshold = double.NaN;
            o.Rules["cpu_hgih"] = new AlertRuleOptions { Severity = "warning", Threshold = 80 };
        });

        Assert.Equal(
            [
                "Alerts:connections_high:Threshold is required.",
                "Alerts:cpu_hgih is not a known rule; known rules: " + string.Join(", ", AlertRuleSet.Default.Rules.Select(r => r.Name)) + ".",
                "Alerts:cpu_high:MinTableBytes applies only to dead_tuples_high and table_bloat_high; remove it.",
                "Alerts:cpu_high:Threshold must be a percentage above 0 and at most 100 (got 150).",
                "Alerts:deadlocks_high:Threshold must be a finite number (got NaN).",
                "Alerts:disk_usage_critical:For must not be negative (got -00:00:01).",
                "Alerts:memory_high:Severity must be 'warning' or 'critical' (got 'page-me').",
                "Alerts:postgres_down:Threshold is not used by this rule (it tests a state); remove it.",
            ],
            errors.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("replication_lag_warning", 300, "Alerts:replication_lag_warning:Threshold (300) must be below Alerts:replication_lag_critical:Threshold (300)")]
    [InlineData("buffer_hit_ratio_warning", 89, "Alerts:buffer_hit_ratio_warning:Threshold (89) must be above Alerts:buffer_hit_ratio_critical:Threshold (90)")]
    [InlineData("disk_usage_warning", 95, "Alerts:disk_usage_warning:Threshold (95) must be below Alerts:disk_usage_critical:Threshold (90)")]
    public void Validate_WarningNotBeforeCritical_NamesBothKeys(string rule, double threshold, string expected)
    {
        var error = Assert.Single(Errors(o => o.Rules[rule].Threshold = threshold));

        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_WarningAboveDisabledCritical_Allowed()
    {
        Assert.Empty(Errors(o =>
        {
            o.Rules["replication_lag_critical"].Enabled = false;
            o.Rules["replication_lag_warning"].Threshold = 600;
        }));
    }

    [Fact]
    public void Create_InvalidOptions_Throws()
    {
        var options = new AlertsOptions();
        options.Rules["cpu_high"].Threshold = 0;

        var error = Assert.Throws<ArgumentException>(() => AlertRuleSet.Create(options));

        Assert.Contains("Alerts:cpu_high:Threshold", error.Message, StringComparison.Ordinal);
    }
}
