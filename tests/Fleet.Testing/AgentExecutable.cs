using System.Diagnostics;

namespace Fleet.Testing;

/// <summary>
/// The fleet-agent that tests run as a child process. By default the JIT build beside the tests
/// (<c>dotnet fleet-agent.dll</c>); when <see cref="Variable"/> names a file, that executable instead: the
/// Native AOT binary, which scripts/test.sh publishes and then runs the agent-process tests against
/// (trait <c>Agent=Executable</c>).
/// </summary>
public static class AgentExecutable
{
    /// <summary>The environment variable naming a native fleet-agent executable.</summary>
    public const string Variable = "FLEET_TEST_AGENT_EXECUTABLE";

    /// <summary>The trait (name, value) of tests that run the agent executable, so its AOT pass can select them.</summary>
    public const string TraitName = "Agent";

    public const string TraitValue = "Executable";

    /// <summary>The native executable under test, or null for the JIT build.</summary>
    public static string? Native { get; } = Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } path
        ? File.Exists(path) ? Path.GetFullPath(path) : throw new InvalidOperationException($"{Variable} names '{path}', which does not exist.")
        : null;

    /// <summary>The program and the arguments before the agent's own: [native] or [dotnet, fleet-agent.dll].</summary>
    public static IReadOnlyList<string> Command { get; } = Native is { } native
        ? [native]
        : [DotnetHost.Path, Path.Combine(AppContext.BaseDirectory, "fleet-agent.dll")];

    /// <summary>A start description for the agent with <paramref name="arguments"/>, output redirected.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(Command[0])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        foreach (var argument in Command.Skip(1).Concat(arguments))
        {
            info.ArgumentList.Add(argument);
        }

        return info;
    }
}
