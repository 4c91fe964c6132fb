using System.Buffers;
using System.Globalization;
using Fleet.Agent.Metrics;
using Fleet.Protos.V1;

namespace Fleet.Agent.Tests.Metrics;

/// <summary>Series counts follow from what the snapshot carries, never from workload (queries, errors, time).</summary>
public sealed class CardinalityTests
{
    // Upper bounds per labelled item, from docs/agent-metrics.md.
    private const int UnlabelledAndFixedSeries = 94;
    private const int SeriesPerDatabase = 59;
    private const int SeriesPerTable = 6;
    private const int SeriesPerStandby = 9;
    private const int SeriesPerSlot = 4;
    private const int SeriesPerSetting = 1;
    private const int Settings = 300;

    [Fact]
    public void Fifty_databases_and_the_top_tables_of_a_hundred_stay_bounded()
    {
        const int Databases = 50, Tables = 100, TopTables = 10;
        var snapshot = LargeCluster(Databases, Tables, TopTables);
        var buffer = new ArrayBufferWriter<byte>();

        var series = AgentMetricsWriter.Write(buffer, snapshot, MetricsFixtures.Facts(MetricsFixtures.Archive()));

        var bound = UnlabelledAndFixedSeries
            + (SeriesPerDatabase * Databases)
            + (SeriesPerTable * TopTables)
            + (SeriesPerStandby * snapshot.Standbys.Count)
            + (SeriesPerSlot * snapshot.Slots.Count)
            + (SeriesPerSetting * snapshot.Settings.Items.Count);
        Assert.InRange(series, 1, bound);

        var e = Exposition.Parse(System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
        Assert.Equal(series, e.Samples.Count);
        Assert.Equal(Databases, e.CountSamples("fleet_pg_database_xact_commit_total"));
        Assert.All(e.Families.Keys.Where(f => f.StartsWith("fleet_pg_database_", StringComparison.Ordinal)), f => Assert.True(e.CountSamples(f) <= Databases * 10, f));
        Assert.Equal(Databases * 7, e.CountSamples("fleet_pg_database_longest_transaction_seconds"));
        Assert.Equal(Databases * 10, e.CountSamples("fleet_pg_database_locks"));
        Assert.Equal(TopTables, e.CountSamples("fleet_pg_table_dead_tuples"));
        Assert.All(e.Families.Keys.Where(f => f.StartsWith("fleet_pg_table_", StringComparison.Ordinal)), f => Assert.True(e.CountSamples(f) <= TopTables, f));
        Assert.Equal(snapshot.Settings.Items.Count, e.CountSamples("fleet_pg_setting"));
    }

    [Fact]
    public void Everything_outside_the_per_item_families_stays_within_the_documented_94_series()
    {
        // Every section at once, even primary and replica ones together (impossible in reality), and no
        // databases, tables, standbys or slots: what is left is the fixed part.
        var snapshot = MetricsFixtures.Primary();
        snapshot.Replica = MetricsFixtures.Replica().Replica;
        snapshot.Databases.Clear();
        snapshot.TableHealth.TopTables.Clear();
        snapshot.Standbys.Clear();
        snapshot.Slots.Clear();
        snapshot.Settings.Items.Clear();

        var series = AgentMetricsWriter.Write(new ArrayBufferWriter<byte>(), snapshot, MetricsFixtures.Facts(MetricsFixtures.Archive()));

        Assert.InRange(series, 75, UnlabelledAndFixedSeries);
    }

    [Fact]
    public void Series_count_does_not_depend_on_errors_or_counter_values()
    {
        var quiet = LargeCluster(databases: 5, tables: 10, topTables: 10);
        var busy = LargeCluster(databases: 5, tables: 10, topTables: 10);
        for (var i = 0; i < 1000; i++)
        {
            busy.CollectionErrors.Add(string.Create(CultureInfo.InvariantCulture, $"query {i} failed: ERROR: relation \"t{i}\" does not exist"));
        }

        foreach (var database in busy.Databases)
        {
            database.Commits *= 1000;
        }

        var facts = MetricsFixtures.Facts();
        Assert.Equal(
            AgentMetricsWriter.Write(new ArrayBufferWriter<byte>(), quiet, facts),
            AgentMetricsWriter.Write(new ArrayBufferWriter<byte>(), busy, facts));
    }

    [Fact]
    public void Settings_are_capped_even_if_the_snapshot_carries_too_many()
    {
        var snapshot = LargeCluster(databases: 1, tables: 1, topTables: 1);
        snapshot.Settings.Items.Clear();
        for (var i = 0; i < SettingMetrics.MaxSettings + 500; i++)
        {
            snapshot.Settings.Items.Add(new NodeSnapshot.Types.Setting { Name = Name("setting_", i), Value = i });
        }

        var e = Exposition.Parse(AgentMetricsWriter.Render(snapshot, MetricsFixtures.Facts()));

        Assert.Equal(SettingMetrics.MaxSettings, e.CountSamples("fleet_pg_setting"));
        e.AssertLine("fleet_pg_setting{name=\"setting_000\"} 0");
    }

    [Fact]
    public void Tables_are_capped_even_if_the_snapshot_carries_too_many()
    {
        var snapshot = LargeCluster(databases: 2, tables: 500, topTables: 500);

        var e = Exposition.Parse(AgentMetricsWriter.Render(snapshot, MetricsFixtures.Facts()));

        Assert.Equal(TableMetrics.MaxTables, e.CountSamples("fleet_pg_table_dead_tuples"));
        e.AssertLine("fleet_pg_table_dead_tuples{datname=\"db000\",table=\"public.t000\"} 1000000"); // the worst table is kept
    }

    /// <summary>
    /// A primary with <paramref name="databases"/> databases whose cluster has <paramref name="tables"/> tables,
    /// of which the snapshot carries the <paramref name="topTables"/> with the most dead tuples (as the collector does),
    /// and 300 settings.
    /// </summary>
    internal static NodeSnapshot LargeCluster(int databases, int tables, int topTables)
    {
        var snapshot = MetricsFixtures.Primary();
        snapshot.Databases.Clear();
        for (var i = 0; i < databases; i++)
        {
            snapshot.Databases.Add(WorstCase(MetricsFixtures.Database(Name("db", i), (ulong)(i + 1) * 1000)));
        }

        var all = new List<NodeSnapshot.Types.TableStats>();
        for (var i = 0; i < tables; i++)
        {
            all.Add(new NodeSnapshot.Types.TableStats
            {
                Database = Name("db", i % databases),
                Name = "public." + Name("t", i),
                LiveTuples = 1_000_000,
                DeadTuples = (ulong)(1_000_000 - (i * 100)),
                DeadRatio = 0.5,
                TotalBytes = 1 << 20,
                EstimatedBloatBytes = 1 << 18,
                EstimatedBloatRatio = 0.25,
            });
        }

        snapshot.TableHealth.TopTables.Clear();
        snapshot.TableHealth.TopTables.AddRange(all.OrderByDescending(t => t.DeadTuples).Take(topTables));

        // About as many numeric and boolean settings as PostgreSQL 17 with a few extensions has.
        snapshot.Settings.Items.Clear();
        for (var i = 0; i < Settings; i++)
        {
            snapshot.Settings.Items.Add(new NodeSnapshot.Types.Setting { Name = Name("setting_", i), Value = i * 1024, Unit = "bytes" });
        }

        return snapshot;
    }

    /// <summary>Every optional figure set, a transaction open in every state and a lock of every mode, plus an unknown state and mode.</summary>
    private static NodeSnapshot.Types.Database WorstCase(NodeSnapshot.Types.Database database)
    {
        database.ChecksumLastFailure = MetricsFixtures.At(1_699_999_000);
        database.ConnectionsByState.Clear();
        foreach (var state in new[] { "active", "idle", "idle in transaction", "idle in transaction (aborted)", "fastpath function call", "disabled", "", "some future state" })
        {
            database.ConnectionsByState.Add(new NodeSnapshot.Types.StateConnections { State = state, Connections = 1, LongestTransactionSeconds = 1 });
        }

        database.LocksByMode.Clear();
        foreach (var mode in DatabaseMetrics.LockModes.Append("FutureLock"))
        {
            database.LocksByMode.Add(new NodeSnapshot.Types.LockModeCount { Mode = mode, Locks = 2, Waiting = 1 });
        }

        return database;
    }

    private static string Name(string prefix, int i) => string.Create(CultureInfo.InvariantCulture, $"{prefix}{i:D3}");
}
