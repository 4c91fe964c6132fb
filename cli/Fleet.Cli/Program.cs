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
return await root.Parse(args).InvokeAsync();
