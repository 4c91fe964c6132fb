using Fleet.Testing;
using System.Text.RegularExpressions;

namespace Fleet.Agent.Tests.Metrics;

/// <summary>docs/agent-metrics.md and the exposition must list the same metric families, with the same types.</summary>
public sealed partial class MetricsDocumentationTests
{
    [Fact]
    public void Every_rendered_family_is_documented_and_every_documented_family_is_rendered()
    {
        var documented = Documented();
        var rendered = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var scenario in MetricsScenarios.All)
        {
            foreach (var (name, type) in Exposition.Parse(MetricsScenarios.Render(scenario)).Families)
            {
                rendered[name] = type;
            }
        }

        Assert.Empty(rendered.Keys.Except(documented.Keys).Order());
        Assert.Empty(documented.Keys.Except(rendered.Keys).Order());
        Assert.All(rendered, family => Assert.True(documented[family.Key] == family.Value, $"{family.Key} is a {family.Value}, documented as {documented[family.Key]}"));
    }

    [Fact]
    public void Documented_alert_rules_pass_promtool_check_rules()
    {
        var text = File.ReadAllText(DocumentPath());
        var block = RulesBlock().Match(text);
        Assert.True(block.Success, "docs/agent-metrics.md has no ```yaml block starting with 'groups:'");

        Promtool.AssertRulesValid(block.Groups[1].Value);
    }

    /// <summary>Rows of the reference tables: "| `name` | type | ...".</summary>
    private static Dictionary<string, string> Documented()
    {
        var path = DocumentPath();
        var families = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(path))
        {
            var match = TableRow().Match(line);
            if (match.Success)
            {
                Assert.True(families.TryAdd(match.Groups[1].Value, match.Groups[2].Value), $"{match.Groups[1].Value} documented twice");
            }
        }

        Assert.NotEmpty(families);
        return families;
    }

    private static string DocumentPath() => Path.Combine(RepositoryRoot.Path, "docs", "agent-metrics.md");

    [GeneratedRegex(@"^\| `(fleet_[a-z0-9_]+)` \| (counter|gauge) \|")]
    private static partial Regex TableRow();

    [GeneratedRegex("```yaml\n(groups:\n.*?)```", RegexOptions.Singleline)]
    private static partial Regex RulesBlock();
}
