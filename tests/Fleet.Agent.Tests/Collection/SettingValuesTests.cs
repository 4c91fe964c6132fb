using Fleet.Agent.Collection;

namespace Fleet.Agent.Tests.Collection;

/// <summary>pg_settings values to base units, for every unit PostgreSQL uses (and the multiples it may use).</summary>
public sealed class SettingValuesTests
{
    [Theory]

    // Memory: the units PostgreSQL 15 reports (SELECT DISTINCT unit FROM pg_settings: 8kB, B, kB, MB) ...
    [InlineData("16384", "8kB", "integer", 134_217_728d, "bytes")] // shared_buffers
    [InlineData("1024", "B", "integer", 1024d, "bytes")] // track_activity_query_size
    [InlineData("4096", "kB", "integer", 4_194_304d, "bytes")] // work_mem
    [InlineData("1024", "MB", "integer", 1_073_741_824d, "bytes")] // max_wal_size

    // ... and the others the GUC machinery knows: GB, TB, other block sizes, WAL segments (16MB before 11).
    [InlineData("2", "GB", "integer", 2_147_483_648d, "bytes")]
    [InlineData("1", "TB", "integer", 1_099_511_627_776d, "bytes")]
    [InlineData("10", "16kB", "integer", 163_840d, "bytes")]
    [InlineData("32", "32kB", "integer", 1_048_576d, "bytes")]
    [InlineData("5", "16MB", "integer", 83_886_080d, "bytes")]
    [InlineData("3", "64MB", "integer", 201_326_592d, "bytes")]

    // Time: ms, s, min (PostgreSQL 15), plus us, h, d.
    [InlineData("200", "ms", "integer", 0.2, "seconds")] // bgwriter_delay
    [InlineData("60000", "ms", "integer", 60d, "seconds")] // wal_sender_timeout
    [InlineData("2", "ms", "real", 0.002, "seconds")] // autovacuum_vacuum_cost_delay (real)
    [InlineData("0.5", "ms", "real", 0.0005, "seconds")]
    [InlineData("300", "s", "integer", 300d, "seconds")] // checkpoint_timeout
    [InlineData("1440", "min", "integer", 86_400d, "seconds")] // log_rotation_age
    [InlineData("250", "us", "integer", 0.00025, "seconds")]
    [InlineData("2", "h", "integer", 7_200d, "seconds")]
    [InlineData("7", "d", "integer", 604_800d, "seconds")]

    // Unitless numbers stay as they are, negatives and fractions included.
    [InlineData("100", null, "integer", 100d, "")] // max_connections
    [InlineData("100", "", "integer", 100d, "")]
    [InlineData("-2", null, "integer", -2d, "")] // max_pred_locks_per_relation
    [InlineData("0.005", null, "real", 0.005, "")] // cpu_index_tuple_cost
    [InlineData("1e+06", null, "real", 1_000_000d, "")]

    // -1 means "disabled" or "use another setting": kept as -1 whatever the unit.
    [InlineData("-1", "kB", "integer", -1d, "bytes")] // temp_file_limit, autovacuum_work_mem
    [InlineData("-1", "ms", "integer", -1d, "seconds")] // log_min_duration_statement
    [InlineData("-1", "min", "integer", -1d, "seconds")] // old_snapshot_threshold
    [InlineData("-1", "MB", "integer", -1d, "bytes")] // max_slot_wal_keep_size

    // Booleans.
    [InlineData("on", null, "bool", 1d, "")]
    [InlineData("off", null, "bool", 0d, "")]
    public void TryConvert_ConvertsToBaseUnits(string setting, string? unit, string vartype, double expected, string expectedUnit)
    {
        Assert.True(SettingValues.TryConvert(setting, unit, vartype, out var value, out var baseUnit));

        Assert.Equal(expected, value);
        Assert.Equal(expectedUnit, baseUnit);
    }

    [Theory]
    [InlineData("10", "fortnights", "integer")] // an unknown unit: left out, not exported in a wrong unit
    [InlineData("10", "kb", "integer")] // units are case-sensitive
    [InlineData("10", "0kB", "integer")]
    [InlineData("10", "8", "integer")]
    [InlineData("10", "9999999999kB", "integer")]
    [InlineData("many", null, "integer")]
    [InlineData("NaN", null, "real")]
    [InlineData("Infinity", null, "real")]
    [InlineData("yes", null, "bool")]
    [InlineData("on", null, "string")] // only bool, integer and real are numeric
    [InlineData("replica", null, "enum")]
    public void TryConvert_RejectsWhatItCannotConvert(string setting, string? unit, string vartype) =>
        Assert.False(SettingValues.TryConvert(setting, unit, vartype, out _, out _));
}
