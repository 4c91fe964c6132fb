using Fleet.Aggregator;
using Fleet.Hosting;

return await HostProgram.RunAsync("fleet-aggregator", AggregatorHost.EnvironmentPrefix, args, configFile => AggregatorHost.Build(configFile));
