namespace Fleet.Agent.Tests.Metrics;

/// <summary>
/// A minimal reading of a text exposition, for assertions: families from the TYPE lines, and samples as
/// "series value" lines. Checks structure promtool does not: unique series, and every sample right after
/// its own family's HELP and TYPE lines (families contiguous).
/// </summary>
internal sealed class Exposition
{
    private Exposition(string text, List<string> lines, Dictionary<string, string> families, List<(string Series, string Value)> samples)
    {
        Text = text;
        Lines = lines;
        Families = families;
        Samples = samples;
    }

    public string Text { get; }

    public IReadOnlyList<string> Lines { get; }

    /// <summary>Family name to type ("counter", "gauge").</summary>
    public IReadOnlyDictionary<string, string> Families { get; }

    public IReadOnlyList<(string Series, string Value)> Samples { get; }

    public static Exposition Parse(string text)
    {
        Assert.EndsWith("\n", text);
        var lines = text[..^1].Split('\n').ToList();
        var families = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new List<(string, string)>();
        var series = new HashSet<string>(StringComparer.Ordinal);
        string? family = null;
        string? help = null;
        foreach (var line in lines)
        {
            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                help = line.Split(' ')[2];
                Assert.False(families.ContainsKey(help), $"family {help} written twice");
            }
            else if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                Assert.Equal(help, parts[2]);
                family = parts[2];
                families.Add(family, parts[3]);
            }
            else
            {
                Assert.NotNull(family);
                var space = line.LastIndexOf(' ');
                Assert.True(space > 0, $"not a sample line: {line}");
                var key = line[..space];
                var name = key.Split('{')[0];
                Assert.True(name == family, $"sample {line} is not in its family's block ({family})");
                Assert.True(series.Add(key), $"duplicate series {key}");
                samples.Add((key, line[(space + 1)..]));
            }
        }

        return new Exposition(text, lines, families, samples);
    }

    public int CountSamples(string family) => Samples.Count(s => s.Series == family || s.Series.StartsWith(family + "{", StringComparison.Ordinal));

    public void AssertLine(string line) => Assert.True(Lines.Contains(line), $"missing line: {line}\n--- exposition ---\n{Text}");

    public void AssertNoFamily(string family) => Assert.False(Families.ContainsKey(family), $"unexpected family {family}");
}
