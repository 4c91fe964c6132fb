using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace Fleet.Hosting;

/// <summary>
/// The entry point both daemons share: "NAME [--config FILE]", a clear message and exit code 2 for a bad
/// command line or configuration (every bad key listed), the host run until SIGTERM/Ctrl-C otherwise.
/// </summary>
public static class HostProgram
{
    public static async Task<int> RunAsync(string name, string environmentPrefix, string[] args, Func<string?, WebApplication> build)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(build);
        string? configFile = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--config" or "-c" when i + 1 < args.Length:
                    configFile = args[++i];
                    break;
                case "--help" or "-h":
                    Console.WriteLine($"usage: {name} [--config FILE]\n\nConfiguration keys are documented in docs/{name.Replace("fleet-", string.Empty, StringComparison.Ordinal)}.md; " +
                                      $"environment variables {environmentPrefix}<Section>__<Key> override the file.");
                    return 0;
                default:
                    await Console.Error.WriteLineAsync($"{name}: unknown argument '{args[i]}' (try --help)");
                    return 2;
            }
        }

        try
        {
            await using var app = build(configFile);
            await app.RunAsync();
            return 0;
        }
        catch (OptionsValidationException ex)
        {
            await Console.Error.WriteLineAsync($"{name}: invalid configuration:");
            foreach (var failure in ex.Failures)
            {
                await Console.Error.WriteLineAsync("  - " + failure);
            }

            return 2;
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException or FormatException or JsonException)
        {
            await Console.Error.WriteLineAsync($"{name}: {ex.Message}");
            return 2;
        }
    }
}
