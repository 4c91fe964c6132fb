using Prometheus;

namespace Fleet.Bench.Metrics;

/// <summary>
/// The agent's families and series held in a prometheus-net registry, as a port of /metrics to the library
/// would hold them: a registry of its own (<see cref="Prometheus.Metrics.NewCustomRegistry"/>, no default
/// metrics), each family created once with its label names, and per scrape every series' value set from
/// the latest snapshot (<c>WithLabels(...).Set(v)</c>, counters <c>IncTo(v)</c>) before the export.
/// The values come from the agent's own exposition parsed once (<see cref="TextExposition"/>), so both
/// sides carry exactly the same series.
/// </summary>
internal sealed class PrometheusNetReplay
{
    private readonly Family[] _families;
    private readonly bool _cacheChildren;

    private PrometheusNetReplay(CollectorRegistry registry, Family[] families, bool cacheChildren)
    {
        Registry = registry;
        _families = families;
        _cacheChildren = cacheChildren;
    }

    public CollectorRegistry Registry { get; }

    /// <summary>
    /// Creates the registry and its collectors. With <paramref name="cacheChildren"/> each series' child
    /// (label set) is looked up once here and kept, so a scrape only sets values: the cheapest use of the
    /// library, possible only while the set of series never changes.
    /// </summary>
    public static PrometheusNetReplay Create(IReadOnlyList<ParsedFamily> model, bool cacheChildren)
    {
        ArgumentNullException.ThrowIfNull(model);
        var registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(registry);
        var families = new Family[model.Count];
        for (var f = 0; f < model.Count; f++)
        {
            var parsed = model[f];
            var labelValues = parsed.Series.Select(s => s.LabelValues).ToArray();
            var values = parsed.Series.Select(s => s.Value).ToArray();
            if (parsed.Type == "counter")
            {
                var counter = factory.CreateCounter(parsed.Name, parsed.Help, parsed.LabelNames);
                var children = cacheChildren && parsed.LabelNames.Length > 0 ? labelValues.Select(v => counter.WithLabels(v)).ToArray() : null;
                families[f] = new Family(null, counter, null, children, parsed.LabelNames.Length > 0, labelValues, values);
            }
            else
            {
                var gauge = factory.CreateGauge(parsed.Name, parsed.Help, parsed.LabelNames);
                var children = cacheChildren && parsed.LabelNames.Length > 0 ? labelValues.Select(v => gauge.WithLabels(v)).ToArray() : null;
                families[f] = new Family(gauge, null, children, null, parsed.LabelNames.Length > 0, labelValues, values);
            }
        }

        return new PrometheusNetReplay(registry, families, cacheChildren);
    }

    /// <summary>One scrape: set every series from the snapshot's values, then export the registry into <paramref name="output"/>.</summary>
    public async Task ScrapeAsync(Stream output)
    {
        SetValues();
        await Registry.CollectAndExportAsTextAsync(output);
    }

    private void SetValues()
    {
        foreach (var family in _families)
        {
            var values = family.Values;
            if (!family.Labelled)
            {
                if (family.Gauge is { } g)
                {
                    g.Set(values[0]);
                }
                else
                {
                    family.Counter!.IncTo(values[0]);
                }
            }
            else if (_cacheChildren)
            {
                if (family.GaugeChildren is { } gauges)
                {
                    for (var i = 0; i < gauges.Length; i++)
                    {
                        gauges[i].Set(values[i]);
                    }
                }
                else
                {
                    var counters = family.CounterChildren!;
                    for (var i = 0; i < counters.Length; i++)
                    {
                        counters[i].IncTo(values[i]);
                    }
                }
            }
            else if (family.Gauge is { } gauge)
            {
                for (var i = 0; i < values.Length; i++)
                {
                    gauge.WithLabels(family.LabelValues[i]).Set(values[i]);
                }
            }
            else
            {
                var counter = family.Counter!;
                for (var i = 0; i < values.Length; i++)
                {
                    counter.WithLabels(family.LabelValues[i]).IncTo(values[i]);
                }
            }
        }
    }

    private sealed record Family(
        Gauge? Gauge,
        Counter? Counter,
        Gauge.Child[]? GaugeChildren,
        Counter.Child[]? CounterChildren,
        bool Labelled,
        string[][] LabelValues,
        double[] Values);
}
