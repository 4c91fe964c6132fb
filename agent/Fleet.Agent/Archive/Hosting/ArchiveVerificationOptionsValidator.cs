using Fleet.Agent.Archive.Verification;
using Fleet.Agent.Archive.Wal;
using Fleet.Agent.Configuration;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Archive.Hosting;

/// <summary>Checks the Archive:* verification keys, naming each bad key; every error is reported at once.</summary>
internal sealed class ArchiveVerificationOptionsValidator(ArchiveOptions archive) : IValidateOptions<ArchiveVerificationOptions>
{
    public ValidateOptionsResult Validate(string? name, ArchiveVerificationOptions options)
    {
        var errors = new List<string>();
        if (archive.Location is { Length: > 0 } location &&
            Uri.TryCreate(location, UriKind.Absolute, out var uri) && !uri.IsFile)
        {
            errors.Add($"Archive:Location '{uri.Scheme}://…' is not supported yet: only a directory (local or mounted) can be verified.");
        }

        Positive(errors, "Archive:VerifyInterval", options.VerifyInterval);
        if (options.DeepVerifyInterval < TimeSpan.Zero || (options.DeepVerifyInterval > TimeSpan.Zero && options.DeepVerifyInterval < options.VerifyInterval))
        {
            errors.Add($"Archive:DeepVerifyInterval must be zero (off) or at least Archive:VerifyInterval (got {options.DeepVerifyInterval}).");
        }

        Positive(errors, "Archive:RpoThreshold", options.RpoThreshold);
        Positive(errors, "Archive:BaseBackupVerifyTimeout", options.BaseBackupVerifyTimeout);
        if (options.MaxBaseBackupAge < TimeSpan.Zero)
        {
            errors.Add($"Archive:MaxBaseBackupAge must be zero (off) or positive (got {options.MaxBaseBackupAge}).");
        }

        if (options.MaxLagSegments is < 0 or > 1_000_000)
        {
            errors.Add($"Archive:MaxLagSegments must be between 0 and 1000000 (got {options.MaxLagSegments}).");
        }

        if (options.Parallelism is < 1 or > 64)
        {
            errors.Add($"Archive:Parallelism must be between 1 and 64 (got {options.Parallelism}).");
        }

        if (options.VerifyFrom is { Length: > 0 } from && !Lsn.TryParse(from, out _) &&
            !(WalFileName.TryParse(from.Trim(), out var parsed) && parsed.Kind == WalFileKind.Segment && parsed.Compression == WalCompression.None))
        {
            errors.Add($"Archive:VerifyFrom '{from}' must be an LSN (e.g. 0/5000028) or a WAL segment name.");
        }

        if (!AcknowledgedSegments.TryParse(options.AcknowledgedMissing, out _, out var acknowledgedErrors))
        {
            errors.AddRange(acknowledgedErrors);
        }

        if (options.BaseBackupDirectory is { Length: > 0 } backups && !Path.IsPathRooted(backups))
        {
            errors.Add($"Archive:BaseBackupDirectory '{backups}' must be an absolute path.");
        }

        if (options.CacheFile is { Length: > 0 } cache && !Path.IsPathRooted(cache))
        {
            errors.Add($"Archive:CacheFile '{cache}' must be an absolute path.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Positive(List<string> errors, string key, TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{key} must be a positive duration (got {value}).");
        }
    }
}
