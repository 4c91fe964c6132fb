using Fleet.Agent;
using Fleet.Hosting;

return await HostProgram.RunAsync("fleet-agent", AgentHost.EnvironmentPrefix, args, configFile => AgentHost.Build(configFile));
