using System.Globalization;
using System.Text.RegularExpressions;

namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// A directory of PostgreSQL server binaries (initdb, pg_ctl, postgres, pg_basebackup, ...) and the
/// major version they belong to.
/// </summary>
public sealed partial class PostgresInstallation
{
    /// <summary>Environment variable that pins the bin directory, e.g. in CI images with several versions.</summary>
    public const string BinDirectoryVariable = "FLEET_PG_BIN";

    /// <summary>Environment variable naming the cache scripts/fetch-postgres.sh fills (default: artifacts/postgres in the repository).</summary>
    public const string CacheDirectoryVariable = "FLEET_PG_CACHE";

    // Debian and Ubuntu install every major version side by side under this root.
    private const string DebianInstallRoot = "/usr/lib/postgresql";

    private PostgresInstallation(string binDirectory, int majorVersion, string versionText)
    {
        BinDirectory = binDirectory;
        MajorVersion = majorVersion;
        VersionText = versionText;
    }

    public string BinDirectory { get; }

    public int MajorVersion { get; }

    /// <summary>What the binaries print for --version, e.g. "PostgreSQL 15.14 (Debian 15.14-0+deb12u1)".</summary>
    public string VersionText { get; }

    /// <summary>
    /// Finds the binaries: <paramref name="binDirectory"/> if given, else <see cref="BinDirectoryVariable"/>
    /// if set, else the highest <c>/usr/lib/postgresql/*/bin</c> that holds initdb.
    /// </summary>
    public static async Task<PostgresInstallation> LocateAsync(
        string? binDirectory = null, CancellationToken cancellationToken = default)
    {
        var directory = binDirectory ?? Environment.GetEnvironmentVariable(BinDirectoryVariable);
        var source = binDirectory is not null ? "the options" : $"${BinDirectoryVariable}";
        if (string.IsNullOrWhiteSpace(directory))
        {
            directory = FindHighestDebianBinDirectory() ?? throw new PostgresClusterException(
                $"No PostgreSQL server binaries found: ${BinDirectoryVariable} is not set and no " +
                $"{DebianInstallRoot}/*/bin contains initdb. Install a postgresql-NN package or set " +
                $"${BinDirectoryVariable} to the directory holding initdb, pg_ctl and postgres.");
            source = DebianInstallRoot;
        }

        if (!File.Exists(Path.Combine(directory, "initdb")) || !File.Exists(Path.Combine(directory, "pg_ctl")))
        {
            throw new PostgresClusterException(
                $"'{directory}' (from {source}) does not contain initdb and pg_ctl; point " +
                $"${BinDirectoryVariable} at a PostgreSQL bin directory.");
        }

        var versionText = await ReadVersionAsync(directory, cancellationToken);
        var match = VersionPattern().Match(versionText);
        if (!match.Success)
        {
            throw new PostgresClusterException($"Cannot read a PostgreSQL version from '{versionText}' ({directory}).");
        }

        var major = int.Parse(match.Groups["major"].Value, CultureInfo.InvariantCulture);
        return new PostgresInstallation(Path.GetFullPath(directory), major, versionText);
    }

    /// <summary>
    /// Where the binaries of one major version are, or null: <c>$FLEET_PG_CACHE/&lt;major&gt;/bin</c>, else
    /// <c>artifacts/postgres/&lt;major&gt;/bin</c> of the repository this code runs from (what
    /// scripts/fetch-postgres.sh fills), else <c>/usr/lib/postgresql/&lt;major&gt;/bin</c>.
    /// </summary>
    public static string? FindBinDirectory(int major)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(major);
        var number = major.ToString(CultureInfo.InvariantCulture);
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable(CacheDirectoryVariable) is { Length: > 0 } cache)
        {
            candidates.Add(Path.Combine(cache, number, "bin"));
        }

        if (FindRepositoryRoot() is { } root)
        {
            candidates.Add(Path.Combine(root, "artifacts", "postgres", number, "bin"));
        }

        candidates.Add(Path.Combine(DebianInstallRoot, number, "bin"));
        return candidates.FirstOrDefault(directory => File.Exists(Path.Combine(directory, "initdb")));
    }

    /// <summary>The binaries of one major version (see <see cref="FindBinDirectory"/>); throws saying how to get them.</summary>
    public static async Task<PostgresInstallation> ForMajorAsync(int major, CancellationToken cancellationToken = default)
    {
        var directory = FindBinDirectory(major) ?? throw new PostgresClusterException(
            $"No PostgreSQL {major} server binaries: run scripts/fetch-postgres.sh {major} (or set " +
            $"${CacheDirectoryVariable}, or install postgresql-{major}).");
        var installation = await LocateAsync(directory, cancellationToken);
        return installation.MajorVersion == major
            ? installation
            : throw new PostgresClusterException($"{directory} holds PostgreSQL {installation.MajorVersion}, not {major}.");
    }

    /// <summary>Whether <paramref name="toolName"/> (e.g. pg_basebackup) is installed beside the server.</summary>
    public bool HasTool(string toolName) => File.Exists(Path.Combine(BinDirectory, toolName));

    /// <summary>Full path of a tool in <see cref="BinDirectory"/>; throws if the tool is not installed.</summary>
    public string ToolPath(string toolName)
    {
        if (toolName.Length == 0 || toolName.Contains('/', StringComparison.Ordinal) || toolName.Contains("..", StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{toolName}' is not a tool name.", nameof(toolName));
        }

        var path = Path.Combine(BinDirectory, toolName);
        return File.Exists(path)
            ? path
            : throw new PostgresClusterException($"{toolName} is not installed in {BinDirectory}.");
    }

    public override string ToString() => $"{VersionText} at {BinDirectory}";

    private static string? FindHighestDebianBinDirectory()
    {
        if (!Directory.Exists(DebianInstallRoot))
        {
            return null;
        }

        return Directory.EnumerateDirectories(DebianInstallRoot)
            .Select(versionDirectory => (
                Version: decimal.TryParse(Path.GetFileName(versionDirectory), NumberStyles.Number, CultureInfo.InvariantCulture, out var v) ? v : -1,
                Bin: Path.Combine(versionDirectory, "bin")))
            .Where(candidate => candidate.Version >= 0 && File.Exists(Path.Combine(candidate.Bin, "initdb")))
            .OrderByDescending(candidate => candidate.Version)
            .Select(candidate => candidate.Bin)
            .FirstOrDefault();
    }

    // Tests run from <repository>/tests/<project>/bin/...; Fleet.sln marks the root.
    private static string? FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Fleet.sln")))
            {
                return directory.FullName;
            }
        }

        return null;
    }

    private static async Task<string> ReadVersionAsync(string directory, CancellationToken cancellationToken)
    {
        // pg_config is the documented way to ask, but some minimal images ship only the server;
        // `postgres --version` answers even as root because it exits before the root check.
        var tool = Path.Combine(directory, "pg_config");
        if (!File.Exists(tool))
        {
            tool = Path.Combine(directory, "postgres");
        }

        var result = await ChildProcess.RunAsync(
            ChildProcess.StartInfo(tool, ["--version"], workingDirectory: "/"),
            TimeSpan.FromSeconds(15),
            cancellationToken);
        return result.EnsureSuccess().StandardOutput.Trim();
    }

    [GeneratedRegex(@"PostgreSQL\)?\s+(?<major>\d+)")]
    private static partial Regex VersionPattern();
}
