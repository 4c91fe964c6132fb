using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;

namespace Fleet.Agent.Collection;

/// <summary>
/// Expensive or slow-changing figures (server settings, database sizes, the dead-tuple and bloat report), carried over
/// between refreshes so every snapshot has them, stamped with when they were measured. A refresh is due
/// once <c>interval</c> has passed since the last attempt, successful or not, so a failing refresh is not
/// retried every cycle.
/// </summary>
internal sealed class SlowFigures(TimeProvider time, TimeSpan interval)
{
    private long? _lastAttempt;
    private Dictionary<string, ulong> _databaseSizes = new(StringComparer.Ordinal);
    private Timestamp? _sizesAsOf;
    private NodeSnapshot.Types.TableHealth? _tableHealth;
    private NodeSnapshot.Types.Settings? _settings;

    public bool IsDue => _lastAttempt is not { } last || time.GetElapsedTime(last) >= interval;

    public Timestamp? SizesAsOf => _sizesAsOf;

    public NodeSnapshot.Types.TableHealth? TableHealth => _tableHealth;

    public NodeSnapshot.Types.Settings? Settings => _settings;

    public void MarkAttempt() => _lastAttempt = time.GetTimestamp();

    public void SetDatabaseSizes(Dictionary<string, ulong> sizes, Timestamp asOf)
    {
        _databaseSizes = sizes;
        _sizesAsOf = asOf;
    }

    public void SetTableHealth(NodeSnapshot.Types.TableHealth health) => _tableHealth = health;

    public void SetSettings(NodeSnapshot.Types.Settings settings) => _settings = settings;

    /// <summary>Copies the carried figures into a snapshot whose fast sections are filled.</summary>
    public void ApplyTo(NodeSnapshot snapshot)
    {
        if (_sizesAsOf is not null)
        {
            foreach (var database in snapshot.Databases)
            {
                if (_databaseSizes.TryGetValue(database.Name, out var size))
                {
                    database.SizeBytes = size;
                    database.SizeAsOf = _sizesAsOf.Clone();
                }
            }
        }

        if (_tableHealth is not null)
        {
            snapshot.TableHealth = _tableHealth.Clone();
        }

        if (_settings is not null)
        {
            snapshot.Settings = _settings.Clone();
        }
    }

    /// <summary>Merges per-database top lists into the overall top <paramref name="count"/>, worst first.</summary>
    public static List<NodeSnapshot.Types.TableStats> MergeTop(IEnumerable<NodeSnapshot.Types.TableStats> tables, int count) =>
        tables
            .OrderByDescending(table => table.DeadTuples)
            .ThenByDescending(table => table.LiveTuples)
            .ThenBy(table => table.Database, StringComparer.Ordinal)
            .ThenBy(table => table.Name, StringComparer.Ordinal)
            .Take(count)
            .ToList();
}
