using System.Globalization;
using System.Text;

namespace Fleet.Bench.Metrics;

/// <summary>One series of a family: its label values (in the family's label-name order) and its value.</summary>
internal sealed record ParsedSeries(string[] LabelValues, double Value);

/// <summary>A metric family as the text format carries it: name, type, help, label names and series.</summary>
internal sealed class ParsedFamily(string name, string type, string help)
{
    public string Name { get; } = name;

    /// <summary>"gauge" or "counter" (the only types the agent writes).</summary>
    public string Type { get; } = type;

    public string Help { get; } = help;

    /// <summary>Label names of the family's first series; every series must have the same (checked by the parser).</summary>
    public string[] LabelNames { get; set; } = [];

    public List<ParsedSeries> Series { get; } = [];
}

/// <summary>
/// A minimal parser of the Prometheus text format 0.0.4 as the agent and prometheus-net write it: HELP and
/// TYPE lines, then samples <c>name{label="value",...} value</c> with escaped label values. Enough to turn
/// the agent's exposition into a family model that can be replayed into prometheus-net, and to compare two
/// expositions series by series. Not a general parser (no timestamps, no histograms or summaries).
/// </summary>
internal static class TextExposition
{
    public static List<ParsedFamily> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var families = new List<ParsedFamily>();
        var byName = new Dictionary<string, ParsedFamily>(StringComparer.Ordinal);
        var help = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith("# HELP ", StringComparison.Ordinal))
            {
                var rest = line["# HELP ".Length..];
                var space = rest.IndexOf(' ', StringComparison.Ordinal);
                help[space < 0 ? rest : rest[..space]] = space < 0 ? string.Empty : UnescapeHelp(rest[(space + 1)..]);
                continue;
            }

            if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
            {
                var parts = line["# TYPE ".Length..].Split(' ');
                var family = new ParsedFamily(parts[0], parts[1], help.GetValueOrDefault(parts[0], string.Empty));
                if (!byName.TryAdd(family.Name, family))
                {
                    throw new FormatException($"family {family.Name} appears twice");
                }

                families.Add(family);
                continue;
            }

            if (line[0] == '#')
            {
                continue;
            }

            var (name, labels, value) = ParseSample(line);
            if (!byName.TryGetValue(name, out var owner))
            {
                throw new FormatException($"sample of {name} without a TYPE line: {line}");
            }

            var names = labels.Select(l => l.Name).ToArray();
            if (owner.Series.Count == 0)
            {
                owner.LabelNames = names;
            }
            else if (!owner.LabelNames.SequenceEqual(names, StringComparer.Ordinal))
            {
                throw new FormatException($"{name}: series with different label names ({string.Join(',', owner.LabelNames)} and {string.Join(',', names)})");
            }

            owner.Series.Add(new ParsedSeries(labels.Select(l => l.Value).ToArray(), value));
        }

        return families;
    }

    /// <summary>Series keys (name plus sorted label pairs) with their values, to compare two expositions independent of formatting and order.</summary>
    public static Dictionary<string, double> SeriesKeys(IEnumerable<ParsedFamily> families)
    {
        ArgumentNullException.ThrowIfNull(families);
        var keys = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var family in families)
        {
            foreach (var series in family.Series)
            {
                var pairs = family.LabelNames
                    .Select((labelName, i) => (labelName, value: series.LabelValues[i]))
                    .OrderBy(p => p.labelName, StringComparer.Ordinal)
                    .Select(p => $"{p.labelName}={p.value}");
                keys[$"{family.Type} {family.Name}{{{string.Join(',', pairs)}}}"] = series.Value;
            }
        }

        return keys;
    }

    private static (string Name, List<(string Name, string Value)> Labels, double Value) ParseSample(string line)
    {
        var labels = new List<(string, string)>();
        var i = 0;
        while (i < line.Length && line[i] != '{' && line[i] != ' ')
        {
            i++;
        }

        var name = line[..i];
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (line[i] != '}')
            {
                var eq = line.IndexOf('=', i);
                var labelName = line[i..eq];
                i = eq + 2; // past ="
                var value = new StringBuilder();
                while (line[i] != '"')
                {
                    if (line[i] == '\\')
                    {
                        i++;
                        value.Append(line[i] switch
                        {
                            'n' => '\n',
                            _ => line[i],
                        });
                    }
                    else
                    {
                        value.Append(line[i]);
                    }

                    i++;
                }

                labels.Add((labelName, value.ToString()));
                i++; // past "
                if (line[i] == ',')
                {
                    i++;
                }
            }

            i++; // past }
        }

        var valueText = line[(i + 1)..].Trim();
        var space = valueText.IndexOf(' ', StringComparison.Ordinal);
        if (space >= 0)
        {
            valueText = valueText[..space]; // a timestamp, if any, is ignored
        }

        return (name, labels, ParseValue(valueText));
    }

    private static double ParseValue(string text) => text switch
    {
        "NaN" => double.NaN,
        "+Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        _ => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static string UnescapeHelp(string text)
    {
        if (!text.Contains('\\', StringComparison.Ordinal))
        {
            return text;
        }

        var result = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 1 < text.Length)
            {
                i++;
                result.Append(text[i] == 'n' ? '\n' : text[i]);
            }
            else
            {
                result.Append(text[i]);
            }
        }

        return result.ToString();
    }
}
