using System.Globalization;

namespace Fleet.Bench.Agent.Measurement;

/// <summary>One sample of a Prometheus text exposition: name, raw label text, value.</summary>
internal readonly record struct PromSample(string Name, string Labels, double Value);

/// <summary>A parsed exposition (Prometheus text format 0.0.4): its families and samples.</summary>
internal sealed class PromText
{
    private PromText(List<PromSample> samples, SortedSet<string> families, int bytes)
    {
        Samples = samples;
        Families = families;
        Bytes = bytes;
    }

    public IReadOnlyList<PromSample> Samples { get; }

    /// <summary>Family names: from # TYPE lines, plus the names of untyped samples.</summary>
    public SortedSet<string> Families { get; }

    public int Bytes { get; }

    public int SeriesCount => Samples.Count;

    public static PromText Parse(string text)
    {
        var samples = new List<PromSample>();
        var families = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ', 4);
                if (parts.Length >= 3)
                {
                    families.Add(parts[2]);
                }

                continue;
            }

            if (line[0] == '#')
            {
                continue;
            }

            var brace = line.IndexOf('{', StringComparison.Ordinal);
            string name;
            string labels;
            string rest;
            if (brace >= 0)
            {
                var close = line.LastIndexOf('}');
                name = line[..brace];
                labels = line[(brace + 1)..close];
                rest = line[(close + 1)..].Trim();
            }
            else
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                name = line[..space];
                labels = string.Empty;
                rest = line[(space + 1)..].Trim();
            }

            var valueText = rest.Split(' ')[0];
            var value = valueText switch
            {
                "NaN" => double.NaN,
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                _ => double.Parse(valueText, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new PromSample(name, labels, value));
        }

        // Untyped samples (no # TYPE) still name a family; summaries/histograms add suffixes to typed ones.
        foreach (var sample in samples)
        {
            if (!families.Contains(sample.Name) && !HasTypedBase(families, sample.Name))
            {
                families.Add(sample.Name);
            }
        }

        return new PromText(samples, families, text.Length);
    }

    /// <summary>The value of the first sample named <paramref name="name"/> (whose labels contain <paramref name="labelFilter"/>), or null.</summary>
    public double? Value(string name, string? labelFilter = null)
    {
        foreach (var sample in Samples)
        {
            if (sample.Name == name && (labelFilter is null || sample.Labels.Contains(labelFilter, StringComparison.Ordinal)))
            {
                return sample.Value;
            }
        }

        return null;
    }

    private static bool HasTypedBase(SortedSet<string> families, string name)
    {
        foreach (var suffix in (string[])["_sum", "_count", "_bucket", "_total", "_created"])
        {
            if (name.EndsWith(suffix, StringComparison.Ordinal) && families.Contains(name[..^suffix.Length]))
            {
                return true;
            }
        }

        return false;
    }
}
