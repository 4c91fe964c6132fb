using System.CommandLine;
using Fleet.Aggregator.Health;
using Microsoft.Extensions.Configuration;

namespace Fleet.Cli.Commands;

/// <summary>
/// fleetctl prometheus-rules: prints Prometheus alerting rules for the aggregator's alert catalog, with the
/// thresholds of a given aggregator configuration file (the defaults without one), so Prometheus and the
/// aggregator page on the same conditions.
/// </summary>
internal static class PrometheusRulesCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config") { Description = "The aggregator's JSON configuration file (its Alerts and Failover sections are read)" };
        var command = new Command("prometheus-rules", "Print Prometheus alerting rules generated from the aggregator's alert rule catalog") { config };
        command.SetAction(async (result, cancellationToken) =>
        {
            var builder = new ConfigurationBuilder();
            if (result.GetValue(config) is { } file)
            {
                if (!file.Exists)
                {
                    await Console.Error.WriteLineAsync($"fleetctl prometheus-rules: {file.FullName} does not exist");
                    return 2;
                }

                builder.AddJsonFile(file.FullName, optional: false);
            }

            try
            {
                await Console.Out.WriteAsync(PrometheusRules.RenderFor(builder.Build()).AsMemory(), cancellationToken);
                return 0;
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidDataException or FormatException or InvalidOperationException)
            {
                await Console.Error.WriteLineAsync($"fleetctl prometheus-rules: {ex.Message}");
                return 2;
            }
        });
        return command;
    }
}
