using Fleet.Agent.Archive.Hosting;
using Fleet.Agent.Configuration;
using Fleet.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

// In the DI namespace so the host registers it with one line and no extra using.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers WAL archive verification with the agent host.</summary>
internal static class ArchiveServiceCollectionExtensions
{
    /// <summary>
    /// Binds and validates the Archive:* verification keys now (a bad value stops start-up, naming the key), and
    /// adds the verification service, the status board and the periodic loop. Needs the collection services
    /// (PostgresConnectionFactory) and IOptions&lt;AgentOptions&gt;.
    /// </summary>
    public static IServiceCollection AddArchiveVerification(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var agent = new AgentOptions();
        configuration.Bind(agent);
        var options = new ArchiveVerificationOptions();
        configuration.GetSection("Archive").Bind(options);
        HostConfiguration.Validate(options, new ArchiveVerificationOptionsValidator(agent.Archive));

        services.AddSingleton<IValidateOptions<ArchiveVerificationOptions>>(sp =>
            new ArchiveVerificationOptionsValidator(sp.GetRequiredService<IOptions<AgentOptions>>().Value.Archive));
        services.AddOptions<ArchiveVerificationOptions>().Bind(configuration.GetSection("Archive")).ValidateOnStart();
        services.TryAddSingleton<ArchiveStatusBoard>();
        services.TryAddSingleton<ArchiveVerificationService>();
        services.AddHostedService<ArchiveVerificationLoop>();
        return services;
    }
}
