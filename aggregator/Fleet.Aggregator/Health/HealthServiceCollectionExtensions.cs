using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Health;

public static class HealthServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="AlertsOptions"/> from the <c>Alerts</c> section of <paramref name="configuration"/>
    /// (the configuration root) over the defaults, validates it at start-up (all errors at once, each
    /// naming its key, unknown fields and unparsable values included), follows
    /// reloads, and registers the <see cref="AlertRuleSet"/> built from the options at start-up.
    /// The <see cref="AlertTracker"/> is the caller's to create: it needs the stored next alert sequence.
    /// </summary>
    public static IServiceCollection AddHealthRules(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(AlertsOptions.SectionName);
        services.AddOptions<AlertsOptions>()
            .Configure(options => AlertsOptionsBinder.Bind(section, options))
            .ValidateOnStart();
        services.AddSingleton<IOptionsChangeTokenSource<AlertsOptions>>(new ConfigurationChangeTokenSource<AlertsOptions>(section));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AlertsOptions>, AlertsOptionsValidator>());
        services.TryAddSingleton(provider => AlertRuleSet.Create(provider.GetRequiredService<IOptions<AlertsOptions>>().Value));
        return services;
    }
}
