using System.Diagnostics;

namespace Fleet.LocalFleet.Postgres;

/// <summary>
/// PostgreSQL refuses to run as root. When the tests run as root (containers, CI), every server binary
/// runs as the <c>postgres</c> OS user through runuser and the cluster directory is handed to that user;
/// otherwise binaries run as the current user.
/// </summary>
internal static class ServerOsUser
{
    public const string Name = "postgres";

    private static readonly string[] RunuserCandidates = ["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"];

    public static bool IsRoot { get; } = Environment.UserName == "root";

    /// <summary>A start-info that runs <paramref name="toolPath"/> as the server's OS user.</summary>
    public static ProcessStartInfo StartInfo(string toolPath, IEnumerable<string> arguments, string workingDirectory)
    {
        if (!IsRoot)
        {
            return ChildProcess.StartInfo(toolPath, arguments, workingDirectory);
        }

        var runuser = RunuserCandidates.FirstOrDefault(File.Exists) ?? throw new PostgresClusterException(
            "Running as root, but runuser (util-linux) is missing, so PostgreSQL cannot be started as the " +
            $"'{Name}' OS user. Install util-linux or run the tests as a non-root user.");
        return ChildProcess.StartInfo(runuser, ["-u", Name, "--", toolPath, .. arguments], workingDirectory);
    }

    /// <summary>Gives <paramref name="path"/> (recursively) to the server's OS user; nothing to do when not root.</summary>
    public static async Task GiveOwnershipAsync(string path, CancellationToken cancellationToken)
    {
        if (!IsRoot)
        {
            return;
        }

        var result = await ChildProcess.RunAsync(
            ChildProcess.StartInfo("chown", ["-R", $"{Name}:{Name}", path], workingDirectory: "/"),
            TimeSpan.FromSeconds(30),
            cancellationToken);
        result.EnsureSuccess();
    }
}
