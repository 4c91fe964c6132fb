namespace Fleet.Testing;

/// <summary>The dotnet host that runs a test's child executables (<c>dotnet fleet-agent.dll</c> and the like).</summary>
public static class DotnetHost
{
    /// <summary>The host running these tests (set by the dotnet CLI), else this process if it is dotnet, else "dotnet" from PATH.</summary>
    public static string Path { get; } =
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)
            ? host
            : Environment.ProcessPath is { } self && System.IO.Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "dotnet";
}
