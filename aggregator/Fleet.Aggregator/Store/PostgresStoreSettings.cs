using System.Text.RegularExpressions;
using Npgsql;

namespace Fleet.Aggregator.Store;

/// <summary>Checks Store:Postgres and turns it into a data source; the one place that reads the connection string.</summary>
internal static partial class PostgresStoreSettings
{
    private const string Section = StoreOptions.SectionName + ":Postgres";

    public static void Validate(PostgresStoreOptions options, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(options.ConnectionString))
        {
            errors.Add($"{Section}:ConnectionString is required when Store:Provider is Postgres, e.g. \"Host=db.example;Database=fleet;Username=fleet\".");
        }
        else
        {
            try
            {
                var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
                if (string.IsNullOrWhiteSpace(builder.Host))
                {
                    errors.Add($"{Section}:ConnectionString must name the server (Host=...).");
                }

                if (string.IsNullOrWhiteSpace(builder.Database))
                {
                    errors.Add($"{Section}:ConnectionString must name the database (Database=...).");
                }
            }
            catch (ArgumentException ex)
            {
                // Npgsql's message names the keyword, never a value.
                errors.Add($"{Section}:ConnectionString is not a valid connection string: {ex.Message}");
            }
        }

        if (!SchemaName().IsMatch(options.Schema ?? string.Empty))
        {
            errors.Add($"{Section}:Schema must be a lower-case identifier (letters, digits, '_', at most 63, not starting with a digit; got '{options.Schema}').");
        }

        if (options.MaxConnections is < 2 or > 100)
        {
            errors.Add($"{Section}:MaxConnections must be between 2 and 100 (got {options.MaxConnections}).");
        }

        if (options.CommandTimeout < TimeSpan.FromSeconds(1) || options.CommandTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{Section}:CommandTimeout must be between 00:00:01 and 00:05:00 (got {options.CommandTimeout}).");
        }

        if (options.StartupWait < TimeSpan.Zero || options.StartupWait > TimeSpan.FromMinutes(30))
        {
            errors.Add($"{Section}:StartupWait must be between 00:00:00 and 00:30:00 (got {options.StartupWait}).");
        }
    }

    /// <summary>A data source on the configured schema. Slim builder: no reflection, safe to trim.</summary>
    public static NpgsqlDataSource BuildDataSource(PostgresStoreOptions options)
    {
        var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString)
        {
            SearchPath = options.Schema,
            // Always pooled: MaxConnections is the bound on the store's connections, and a Pooling=false in the
            // connection string would lift it (every concurrent write its own connection, up to "too many clients").
            Pooling = true,
            MaxPoolSize = options.MaxConnections,
            CommandTimeout = (int)Math.Ceiling(options.CommandTimeout.TotalSeconds),
            ApplicationName = "fleet-aggregator",
        };
        return new NpgsqlSlimDataSourceBuilder(builder.ConnectionString).Build();
    }

    /// <summary>"host:port/database, schema s": what messages name instead of the connection string.</summary>
    public static string Describe(PostgresStoreOptions options)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(options.ConnectionString);
            return $"postgresql://{builder.Host}:{builder.Port}/{builder.Database} (schema {options.Schema})";
        }
        catch (ArgumentException)
        {
            return $"the PostgreSQL store (schema {options.Schema})";
        }
    }

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex SchemaName();
}
