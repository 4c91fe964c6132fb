using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Delivery;

internal static class DeliveryServiceCollectionExtensions
{
    /// <summary>Alertmanager and webhook delivery of alerts (the "Alertmanager" section; nothing is sent when it is empty).</summary>
    public static IServiceCollection AddAlertDelivery(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<AlertDeliveryOptions>, AlertDeliveryOptionsValidator>();
        services.AddOptions<AlertDeliveryOptions>().Bind(configuration.GetSection(AlertDeliveryOptions.SectionName)).ValidateOnStart();
        services.AddHostedService<AlertNotifier>();
        return services;
    }
}
