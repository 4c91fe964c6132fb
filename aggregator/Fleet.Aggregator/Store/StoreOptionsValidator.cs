using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Store;

/// <summary>Checks the Store section at start-up, reporting every problem at once, each naming its key.</summary>
internal sealed class StoreOptionsValidator : IValidateOptions<StoreOptions>
{
    public ValidateOptionsResult Validate(string? name, StoreOptions options)
    {
        var errors = new List<string>();
        const string Section = StoreOptions.SectionName;

        if (!Enum.IsDefined(options.Provider))
        {
            errors.Add($"{Section}:Provider must be Sqlite or Postgres (got {options.Provider}).");
        }
        else if (options.Provider == StoreProvider.Postgres)
        {
            PostgresStoreSettings.Validate(options.Postgres, errors);
        }

        if (string.IsNullOrWhiteSpace(options.Path))
        {
            errors.Add($"{Section}:Path must name the SQLite database file, e.g. data/fleet-aggregator.db.");
        }
        else if (IsInMemory(options.Path))
        {
            errors.Add($"{Section}:Path '{options.Path}' is an in-memory database; the store must be durable (failover epochs, audit): give a file path.");
        }
        else if (Directory.Exists(options.Path))
        {
            errors.Add($"{Section}:Path '{options.Path}' is a directory; give a file path inside it, e.g. {System.IO.Path.Combine(options.Path, "fleet-aggregator.db")}.");
        }

        if (options.Retention <= TimeSpan.Zero)
        {
            errors.Add($"{Section}:Retention must be a positive duration, e.g. 30.00:00:00 (got {options.Retention}).");
        }

        if (options.MaxEvents < 1)
        {
            errors.Add($"{Section}:MaxEvents must be at least 1 (got {options.MaxEvents}).");
        }

        if (options.MaxAlertHistory < 1)
        {
            errors.Add($"{Section}:MaxAlertHistory must be at least 1 (got {options.MaxAlertHistory}).");
        }

        if (options.BusyTimeout <= TimeSpan.Zero || options.BusyTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{Section}:BusyTimeout must be between 00:00:00.001 and 00:05:00 (got {options.BusyTimeout}).");
        }

        if (options.ReaderConnections is < 1 or > 64)
        {
            errors.Add($"{Section}:ReaderConnections must be between 1 and 64 (got {options.ReaderConnections}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>":memory:", "file::memory:", "file:x?mode=memory" and other URI forms.</summary>
    internal static bool IsInMemory(string path)
    {
        var trimmed = path.Trim();
        return trimmed.Equals(":memory:", StringComparison.OrdinalIgnoreCase)
            || trimmed.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            || trimmed.Contains("mode=memory", StringComparison.OrdinalIgnoreCase);
    }
}
