namespace Fleet.LocalFleet.Postgres;

/// <summary>How a PostgreSQL command-line tool (or any helper process) ended.</summary>
public sealed record PgToolResult(string CommandLine, int ExitCode, string StandardOutput, string StandardError)
{
    public bool Succeeded => ExitCode == 0;

    /// <summary>Returns this result, or throws with the command line and both output streams.</summary>
    public PgToolResult EnsureSuccess() => Succeeded
        ? this
        : throw new PostgresClusterException(
            $"`{CommandLine}` exited with code {ExitCode}.{Environment.NewLine}" +
            $"stdout: {StandardOutput.Trim()}{Environment.NewLine}stderr: {StandardError.Trim()}");
}
