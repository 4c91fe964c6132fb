using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Configuration;

/// <summary>Checks every key at start-up and reports all problems at once, each naming its key.</summary>
internal sealed class AggregatorOptionsValidator : IValidateOptions<AggregatorOptions>
{
    public ValidateOptionsResult Validate(string? name, AggregatorOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Region))
        {
            errors.Add("Region is required: the aggregator admits only agents of its own region.");
        }

        if (string.IsNullOrWhiteSpace(options.InstanceId))
        {
            errors.Add("InstanceId must not be empty.");
        }

        foreach (var (key, value) in new[] { ("Listen:Grpc", options.Listen.Grpc), ("Listen:Http", options.Listen.Http) })
        {
            if (!Fleet.Hosting.ListenEndpoint.TryParse(value, out _))
            {
                errors.Add($"{key} '{value}' must be host:port with an IP address (e.g. 127.0.0.1:7300).");
            }
        }

        if (options.Link.ReportInterval <= TimeSpan.Zero)
        {
            errors.Add($"Link:ReportInterval must be a positive duration (got {options.Link.ReportInterval}).");
        }

        if (options.Link.StaleAfter < options.Link.ReportInterval * 2)
        {
            errors.Add($"Link:StaleAfter ({options.Link.StaleAfter}) must be at least twice Link:ReportInterval ({options.Link.ReportInterval}), or one late report marks an agent stale.");
        }

        if (options.Link.HelloTimeout <= TimeSpan.Zero)
        {
            errors.Add("Link:HelloTimeout must be a positive duration.");
        }

        if (options.Link.MaxMessageBytes is < 64 * 1024 or > 64 * 1024 * 1024)
        {
            errors.Add($"Link:MaxMessageBytes must be between 65536 and 67108864 (got {options.Link.MaxMessageBytes}).");
        }

        if (options.Tls.Enabled)
        {
            foreach (var (key, path) in new[] { ("Tls:CertificateFile", options.Tls.CertificateFile), ("Tls:KeyFile", options.Tls.KeyFile), ("Tls:CaFile", options.Tls.CaFile) })
            {
                if (string.IsNullOrEmpty(path))
                {
                    errors.Add($"{key} is required when TLS is enabled.");
                }
                else if (!File.Exists(path))
                {
                    errors.Add($"{key} '{path}' does not exist.");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
