using System.Globalization;

namespace Fleet.Agent.Actions;

/// <summary>
/// The highest cluster epoch this agent has seen, persisted so a restarted agent still refuses stale
/// commands. Written to a temporary file, flushed to disk and renamed over the old one, so a crash leaves
/// either the old or the new value, never a torn one.
/// </summary>
public sealed class EpochStore
{
    private readonly string _path;
    private readonly Lock _lock = new();

    public EpochStore(string stateDirectory)
    {
        Directory.CreateDirectory(stateDirectory);
        _path = Path.Combine(stateDirectory, "epoch");
        Highest = Load(_path);
    }

    public ulong Highest { get; private set; }

    /// <summary>Records <paramref name="epoch"/> durably if it is the highest yet; false when it is older (stale).</summary>
    public bool Observe(ulong epoch)
    {
        lock (_lock)
        {
            if (epoch < Highest)
            {
                return false;
            }

            if (epoch > Highest)
            {
                var temporary = _path + ".tmp";
                using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
                using (var writer = new StreamWriter(stream))
                {
                    writer.Write(epoch.ToString(CultureInfo.InvariantCulture));
                    writer.Flush();
                    stream.Flush(flushToDisk: true);
                }

                File.Move(temporary, _path, overwrite: true);
                Highest = epoch;
            }

            return true;
        }
    }

    private static ulong Load(string path)
    {
        if (!File.Exists(path))
        {
            return 0;
        }

        var text = File.ReadAllText(path).Trim();
        return ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var epoch)
            ? epoch
            : throw new InvalidDataException($"Epoch file '{path}' holds '{text}', not a number; refusing to guess (remove it only if you know the cluster's current epoch).");
    }
}
