namespace Fleet.Bench.Agent.Measurement;

internal static class Stats
{
    public static double Median(IReadOnlyCollection<double> values) => Percentile(values, 0.5);

    public static double Max(IReadOnlyCollection<double> values) => values.Count == 0 ? double.NaN : values.Max();

    /// <summary>Nearest-rank percentile; NaN for no values.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double fraction)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(fraction * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }
}
