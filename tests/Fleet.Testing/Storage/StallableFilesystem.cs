
namespace Fleet.Testing.Storage;

/// <summary>
/// A small ext4 filesystem on a loop device that a test can stall: <see cref="Freeze"/> (fsfreeze) makes
/// every write and fsync on it wait in the kernel, as a hung disk or a lost network volume does, while
/// reads from the page cache go on. Needs root, losetup, mkfs.ext4 and fsfreeze. Dispose thaws, unmounts and
/// deletes everything; a filesystem left by a killed test process is removed by the next
/// <see cref="Create"/>.
/// </summary>
public sealed class StallableFilesystem : IDisposable
{
    private static readonly string Registry = Path.Combine(Path.GetTempPath(), "fleet-stallable-fs");
    private readonly string _image;
    private readonly string _device;
    private readonly string _entry;
    private bool _disposed;

    private StallableFilesystem(string image, string device, string mountPoint, string entry)
    {
        (_image, _device, MountPoint, _entry) = (image, device, mountPoint, entry);
    }

    /// <summary>Where the filesystem is mounted; its root is writable by everyone (sticky, like /tmp).</summary>
    public string MountPoint { get; }

    public bool IsFrozen { get; private set; }

    /// <summary>Whether this machine can make one (root and the tools); the reason when not.</summary>
    public static string? Unavailable()
    {
        if (Environment.UserName != "root")
        {
            return "a loop-device filesystem needs root";
        }

        foreach (var tool in (string[])["losetup", "mkfs.ext4", "fsfreeze", "mount", "umount", "chmod"])
        {
            if (!new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }.Any(d => File.Exists(Path.Combine(d, tool))))
            {
                return $"{tool} is not installed";
            }
        }

        return File.Exists("/dev/loop-control") ? null : "no /dev/loop-control (loop devices unavailable)";
    }

    public static StallableFilesystem Create(int megabytes = 256)
    {
        if (Unavailable() is { } reason)
        {
            throw new InvalidOperationException($"Cannot create a stallable filesystem: {reason}.");
        }

        Directory.CreateDirectory(Registry);
        SweepStale();
        var id = Guid.NewGuid().ToString("N")[..12];
        var image = Path.Combine(Path.GetTempPath(), $"fleet-stallable-{id}.img");
        var mountPoint = Path.Combine(Path.GetTempPath(), $"fleet-stallable-{id}");
        var entry = Path.Combine(Registry, id);
        using (var file = File.Create(image))
        {
            file.SetLength(megabytes * 1024L * 1024L);
        }

        var device = ExternalCommand.Run("losetup", "--find", "--show", image).Trim();
        File.WriteAllLines(entry, [OwnerProcess.Current, image, device, mountPoint]);
        var filesystem = new StallableFilesystem(image, device, mountPoint, entry);
        try
        {
            ExternalCommand.Run("mkfs.ext4", "-q", "-F", device);
            Directory.CreateDirectory(mountPoint);
            ExternalCommand.Run("mount", device, mountPoint);
            ExternalCommand.Run("chmod", "1777", mountPoint);
            return filesystem;
        }
        catch
        {
            filesystem.Dispose();
            throw;
        }
    }

    /// <summary>Stalls every write to the filesystem until <see cref="Thaw"/>.</summary>
    public void Freeze()
    {
        ExternalCommand.Run("fsfreeze", "--freeze", MountPoint);
        IsFrozen = true;
    }

    public void Thaw()
    {
        if (IsFrozen)
        {
            ExternalCommand.Run("fsfreeze", "--unfreeze", MountPoint);
            IsFrozen = false;
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Thaw();
        Remove(_image, _device, MountPoint, _entry, frozenMaybe: false);
    }

    private static void Remove(string image, string device, string mountPoint, string entry, bool frozenMaybe)
    {
        if (frozenMaybe)
        {
            ExternalCommand.TryRun("fsfreeze", "--unfreeze", mountPoint);
        }

        // A server killed a moment ago may still hold a file open; a lazy unmount detaches it anyway.
        if (ExternalCommand.TryRun("umount", mountPoint).ExitCode != 0)
        {
            ExternalCommand.TryRun("umount", "--lazy", mountPoint);
        }

        ExternalCommand.TryRun("losetup", "--detach", device);
        TryDelete(() => Directory.Delete(mountPoint, recursive: true));
        TryDelete(() => File.Delete(image));
        TryDelete(() => File.Delete(entry));
    }

    /// <summary>Removes filesystems whose test process is gone (killed before its teardown ran).</summary>
    private static void SweepStale()
    {
        foreach (var entry in Directory.EnumerateFiles(Registry))
        {
            var lines = File.ReadAllLines(entry);
            if (lines.Length < 4 || OwnerProcess.IsAlive(lines[0]))
            {
                continue;
            }

            Remove(lines[1], lines[2], lines[3], entry, frozenMaybe: true);
        }
    }

    private static void TryDelete(Action delete)
    {
        try
        {
            delete();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Best effort: the OS temp directory is cleaned eventually.
        }
    }
}
