using Fleet.Agent;
using Fleet.Agent.Archive.Hosting;
using Fleet.Hosting;

// fleet-agent verify-archive [--config FILE] [--deep] [--json]: one verification, exit 0 OK, 1 WARNING, 2 FAILURE, 3 usage.
if (args.Length > 0 && args[0] == VerifyArchiveCommand.Name)
{
    return await VerifyArchiveCommand.RunAsync(args[1..], Console.Out, Console.Error);
}

return await HostProgram.RunAsync("fleet-agent", AgentHost.EnvironmentPrefix, args, configFile => AgentHost.Build(configFile));
