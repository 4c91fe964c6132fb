namespace Fleet.LocalFleet.Postgres;

/// <summary>Runs the tools of one installation as the server's OS user, from the cluster directory.</summary>
internal sealed class PgToolRunner(PostgresInstallation installation, string workingDirectory)
{
    public PostgresInstallation Installation => installation;

    public Task<PgToolResult> RunAsync(
        string toolName, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken, string? networkNamespace = null)
    {
        var start = ServerOsUser.StartInfo(installation.ToolPath(toolName), arguments, workingDirectory);
        if (networkNamespace is not null)
        {
            // ip netns exec runs the whole command (runuser included) inside the namespace; children stay there.
            start = ChildProcess.StartInfo("ip", ["netns", "exec", networkNamespace, start.FileName, .. start.ArgumentList], workingDirectory);
        }

        return ChildProcess.RunAsync(start, timeout, cancellationToken);
    }
}
