using Fleet.Agent.Collection;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.Tests.Collection;

public sealed class SlowFiguresTests
{
    [Fact]
    public void IsDue_FirstCycleThenOnlyAfterTheInterval()
    {
        var time = new ManualTimeProvider();
        var figures = new SlowFigures(time, TimeSpan.FromMinutes(5));

        Assert.True(figures.IsDue);
        figures.MarkAttempt();
        Assert.False(figures.IsDue);
        time.Advance(TimeSpan.FromMinutes(5) - TimeSpan.FromTicks(1));
        Assert.False(figures.IsDue);
        time.Advance(TimeSpan.FromTicks(1));
        Assert.True(figures.IsDue);
    }

    [Fact]
    public void ApplyTo_CarriesSizesAndTableHealthWithTheirMeasurementTime()
    {
        var figures = new SlowFigures(new ManualTimeProvider(), TimeSpan.FromMinutes(5));
        var asOf = Timestamp.FromDateTime(new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        figures.SetDatabaseSizes(new Dictionary<string, ulong> { ["app"] = 1234 }, asOf);
        var health = new NodeSnapshot.Types.TableHealth { AsOf = asOf };
        health.TopTables.Add(new NodeSnapshot.Types.TableStats { Database = "app", Name = "public.orders", DeadTuples = 5 });
        figures.SetTableHealth(health);
        var snapshot = new NodeSnapshot();
        snapshot.Databases.Add(new NodeSnapshot.Types.Database { Name = "app" });
        snapshot.Databases.Add(new NodeSnapshot.Types.Database { Name = "created_since" });

        figures.ApplyTo(snapshot);

        Assert.Equal(1234UL, snapshot.Databases[0].SizeBytes);
        Assert.Equal(asOf, snapshot.Databases[0].SizeAsOf);
        Assert.False(snapshot.Databases[1].HasSizeBytes);
        Assert.Null(snapshot.Databases[1].SizeAsOf);
        Assert.Equal(asOf, snapshot.TableHealth.AsOf);
        Assert.Equal("public.orders", Assert.Single(snapshot.TableHealth.TopTables).Name);
    }

    [Fact]
    public void ApplyTo_CarriesSettingsWithTheirReadTime_AsACopyPerSnapshot()
    {
        var figures = new SlowFigures(new ManualTimeProvider(), TimeSpan.FromMinutes(5));
        var before = new NodeSnapshot();
        figures.ApplyTo(before);
        Assert.Null(before.Settings);

        var asOf = Timestamp.FromDateTime(new DateTime(2030, 1, 1, 0, 0, 0, DateTimeKind.Utc));
        var settings = new NodeSnapshot.Types.Settings { AsOf = asOf };
        settings.Items.Add(new NodeSnapshot.Types.Setting { Name = "shared_buffers", Value = 134_217_728, Unit = "bytes" });
        figures.SetSettings(settings);
        var first = new NodeSnapshot();
        var second = new NodeSnapshot();

        figures.ApplyTo(first);
        first.Settings.Items.Clear(); // a consumer changing its snapshot does not change the carried figures
        figures.ApplyTo(second);

        Assert.Equal(asOf, second.Settings.AsOf);
        Assert.Equal(134_217_728, Assert.Single(second.Settings.Items).Value);
    }

    [Fact]
    public void MergeTop_KeepsTheWorstAcrossDatabases()
    {
        var tables = new[]
        {
            new NodeSnapshot.Types.TableStats { Database = "a", Name = "public.x", DeadTuples = 5 },
            new NodeSnapshot.Types.TableStats { Database = "b", Name = "public.y", DeadTuples = 50 },
            new NodeSnapshot.Types.TableStats { Database = "a", Name = "public.z", DeadTuples = 7 },
        };

        var top = SlowFigures.MergeTop(tables, 2);

        Assert.Equal(["b/public.y", "a/public.z"], top.Select(t => $"{t.Database}/{t.Name}"));
    }
}
