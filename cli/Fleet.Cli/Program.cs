using System.CommandLine;
using Fleet.Cli.Commands;

var root = new RootCommand("fleetctl — operate a Fleet region: query the aggregator, inspect agents, run a local fleet")
{
    QueryCommands.Aggregator, QueryCommands.Json, QueryCommands.Timeout,
};
foreach (var command in QueryCommands.Create())
{
    root.Subcommands.Add(command);
}

foreach (var command in RoleCommands.Create())
{
    root.Subcommands.Add(command);
}

root.Subcommands.Add(LocalCommand.Create());
root.Subcommands.Add(PrometheusRulesCommand.Create());
// SIGTERM and Ctrl-C cancel the running command, which then stops what it started (a local fleet stops its
// hosts and PostgreSQL in a few seconds). The default 2 s before a forced exit is too short for that: a
// forced exit could leave PostgreSQL running. 30 s is Kubernetes' grace period.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
