using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Fleet.Hosting;

/// <summary>Loads a Fleet process's configuration: JSON file, then environment variables, then overrides.</summary>
public static class HostConfiguration
{
    public static void Load(IConfigurationBuilder configuration, string? configFile, string environmentPrefix, IReadOnlyDictionary<string, string?>? overrides)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        configuration.Sources.Clear();
        if (configFile is not null)
        {
            if (!File.Exists(configFile))
            {
                throw new FileNotFoundException($"Configuration file '{configFile}' does not exist.", configFile);
            }

            configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false, reloadOnChange: false);
        }

        configuration.AddEnvironmentVariables(environmentPrefix);
        if (overrides is not null)
        {
            configuration.AddInMemoryCollection(overrides);
        }
    }

    /// <summary>Validates bound options now, so a bad configuration stops the process before it listens.</summary>
    public static T Validate<T>(T options, IValidateOptions<T> validator)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(validator);
        var result = validator.Validate(null, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(typeof(T).Name, typeof(T), result.Failures);
        }

        return options;
    }
}
