using System.Globalization;

namespace Fleet.Bench.Rpc.Measurement;

/// <summary>
/// CPU time of the whole machine from /proc/stat, to show how much of it went to processes other than
/// the benchmark's (a build running next to the benchmark skews every figure).
/// </summary>
internal readonly record struct MachineCpu(TimeSpan Busy, TimeSpan Steal)
{
    /// <summary>USER_HZ: /proc/stat counts in 1/100 s on every Linux architecture .NET runs on.</summary>
    private const double TicksPerSecond = 100;

    /// <summary>The aggregate "cpu" line; null where /proc/stat is unavailable.</summary>
    public static MachineCpu? Read()
    {
        try
        {
            var line = File.ReadLines("/proc/stat").FirstOrDefault(l => l.StartsWith("cpu ", StringComparison.Ordinal));
            if (line is null)
            {
                return null;
            }

            // user nice system idle iowait irq softirq steal guest guest_nice; guest time is already in user.
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
                .Select(v => long.Parse(v, NumberStyles.None, CultureInfo.InvariantCulture)).ToArray();
            if (f.Length < 8)
            {
                return null;
            }

            var busy = f[0] + f[1] + f[2] + f[5] + f[6];
            return new MachineCpu(TimeSpan.FromSeconds(busy / TicksPerSecond), TimeSpan.FromSeconds(f[7] / TicksPerSecond));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or OverflowException)
        {
            return null;
        }
    }

    public static MachineCpu operator -(MachineCpu after, MachineCpu before) => new(after.Busy - before.Busy, after.Steal - before.Steal);
}
