namespace Fleet.LocalFleet.Postgres;

/// <summary>Runs the tools of one installation as the server's OS user, from the cluster directory.</summary>
internal sealed class PgToolRunner(PostgresInstallation installation, string workingDirectory)
{
    public PostgresInstallation Installation => installation;

    public Task<PgToolResult> RunAsync(
        string toolName, IEnumerable<string> arguments, TimeSpan timeout, CancellationToken cancellationToken) =>
        ChildProcess.RunAsync(
            ServerOsUser.StartInfo(installation.ToolPath(toolName), arguments, workingDirectory),
            timeout,
            cancellationToken);
}
