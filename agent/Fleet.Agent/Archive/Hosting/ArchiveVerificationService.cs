using Fleet.Agent.Archive.Storage;
using Fleet.Agent.Archive.Verification;
using Fleet.Agent.Collection;
using Fleet.Agent.Configuration;
using Fleet.Protos.V1;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Archive.Hosting;

/// <summary>
/// Runs verifications of the node's WAL archive, one at a time, and publishes each result to the
/// <see cref="ArchiveStatusBoard"/>. Used by the periodic loop, AgentService.VerifyArchive, the link's
/// VerifyArchiveNow command and the verify-archive command line. Keeps what must survive between runs: the
/// verified-segment cache and pg_stat_archiver's failed_count (to see it grow).
/// </summary>
internal sealed class ArchiveVerificationService
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ArchiveVerificationOptions _options;
    private readonly Func<CancellationToken, Task<NodeView>> _probe;
    private readonly ArchiveStatusBoard _board;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ArchiveVerifier? _verifier;
    private readonly IBaseBackupSource? _baseBackups;
    private readonly ArchiveSettings _settings;
    private readonly SegmentCache _cache = new();
    private bool _cacheLoaded;
    private ulong? _previousFailedCount;
    private ArchiveVerdict _previousVerdict = ArchiveVerdict.Unspecified;

    public ArchiveVerificationService(
        IOptions<AgentOptions> agent,
        IOptions<ArchiveVerificationOptions> options,
        PostgresConnectionFactory connections,
        ArchiveStatusBoard board,
        TimeProvider time,
        ILogger<ArchiveVerificationService> logger)
        : this(agent.Value, options.Value, new NodeViewProbe(connections, agent.Value.Postgres).ProbeAsync, board, time, logger, waitForBackupChecks: false)
    {
    }

    internal ArchiveVerificationService(
        AgentOptions agent,
        ArchiveVerificationOptions options,
        Func<CancellationToken, Task<NodeView>> probe,
        ArchiveStatusBoard board,
        TimeProvider time,
        ILogger logger,
        bool waitForBackupChecks,
        IArchiveReader? reader = null)
    {
        _options = options;
        _probe = probe;
        _board = board;
        _time = time;
        _logger = logger;
        AcknowledgedSegments.TryParse(options.AcknowledgedMissing, out var acknowledged, out _);
        _settings = new ArchiveSettings
        {
            NodeRegion = agent.Node.Region,
            ArchiveRegion = agent.Archive.Region ?? string.Empty,
            RpoThreshold = options.RpoThreshold,
            MaxLagSegments = options.MaxLagSegments,
            MaxBaseBackupAge = options.MaxBaseBackupAge,
            VerifyFrom = options.VerifyFrom,
            Acknowledged = acknowledged,
        };
        reader ??= agent.Archive.Location is { Length: > 0 } location ? new DirectoryArchiveReader(location) : null;
        if (reader is not null)
        {
            _verifier = new ArchiveVerifier(reader, _cache, time, options.Parallelism);
        }

        if (options.BaseBackupDirectory is { Length: > 0 } backups)
        {
            _baseBackups = new BaseBackupDirectory(backups, agent.Postgres.BinDirectory, options.BaseBackupVerifyTimeout, waitForBackupChecks);
        }
    }

    /// <summary>False when no archive is configured (Archive:Location empty).</summary>
    public bool Enabled => _verifier is not null;

    public string Location => _verifier?.Location ?? string.Empty;

    public ArchiveVerificationOptions Options => _options;

    /// <summary>Where results are published.</summary>
    public ArchiveStatusBoard Board => _board;

    /// <summary>The verifier's cache, for tests that count re-reads.</summary>
    internal SegmentCache Cache => _cache;

    /// <summary>Verifies now, after any verification in progress.</summary>
    public async Task<ArchiveStatus> VerifyAsync(bool deep, Action<VerificationProgress>? progress, CancellationToken cancellationToken) =>
        (await TryVerifyAsync(deep, progress, Timeout.InfiniteTimeSpan, cancellationToken))!;

    /// <summary>Verifies now unless another verification still runs after <paramref name="wait"/>: then returns null.</summary>
    public async Task<ArchiveStatus?> TryVerifyAsync(bool deep, Action<VerificationProgress>? progress, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (_verifier is null)
        {
            throw new InvalidOperationException("No archive is configured (Archive:Location).");
        }

        if (!await _gate.WaitAsync(wait, cancellationToken))
        {
            return null;
        }

        try
        {
            return await RunAsync(_verifier, deep, progress, cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<ArchiveStatus> RunAsync(ArchiveVerifier verifier, bool deep, Action<VerificationProgress>? progress, CancellationToken cancellationToken)
    {
        LoadCache();
        NodeView node;
        try
        {
            node = await _probe(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The probe handles the expected failures; anything else must not stop the archive checks.
            ArchiveLog.VerificationError(_logger, e);
            node = NodeView.Unknown with { Error = $"{e.GetType().Name}: {e.Message}" };
        }
        ArchiveStatus status;
        try
        {
            var outcome = await verifier.VerifyAsync(node, _settings, deep, _previousFailedCount, _baseBackups, progress, cancellationToken);
            status = outcome.Status;
            ArchiveLog.Verified(_logger, status.Verdict, status.SegmentsVerified, outcome.SegmentsFromCache, outcome.FilesRead, outcome.BytesRead, status.DurationSeconds, deep);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            ArchiveLog.VerificationError(_logger, e);
            status = ErrorStatus(verifier.Location, deep, e);
        }

        if (node.Archiver is { } archiver)
        {
            _previousFailedCount = archiver.FailedCount;
        }

        SaveCache();
        LogVerdict(status);
        _board.Publish(status);
        return status;
    }

    private ArchiveStatus ErrorStatus(string location, bool deep, Exception e)
    {
        var finding = new Finding
        {
            Severity = Severity.Warning,
            Code = FindingCodes.VerificationError,
            Message = $"the verification itself failed ({e.GetType().Name}: {e.Message}); the archive's state is unknown",
        };
        var status = new ArchiveStatus
        {
            Verdict = ArchiveVerdict.Warning,
            FirstProblem = finding,
            VerifiedAt = Timestamp.FromDateTimeOffset(_time.GetUtcNow()),
            Deep = deep,
            ArchiveRegion = _settings.ArchiveRegion,
            ArchiveLocation = location,
        };
        status.Findings.Add(finding);
        return status;
    }

    private void LogVerdict(ArchiveStatus status)
    {
        var previous = _previousVerdict;
        _previousVerdict = status.Verdict;
        if (previous == status.Verdict && previous != ArchiveVerdict.Unspecified)
        {
            return;
        }

        if (status.FirstProblem is { } problem)
        {
            ArchiveLog.VerdictChanged(_logger, previous, status.Verdict, problem.Code, problem.Message);
        }
        else if (previous != ArchiveVerdict.Unspecified)
        {
            ArchiveLog.VerdictRecovered(_logger, previous);
        }
    }

    private void LoadCache()
    {
        if (_cacheLoaded || _options.CacheFile is not { Length: > 0 } path)
        {
            return;
        }

        _cacheLoaded = true;
        try
        {
            var loaded = _cache.Load(path);
            if (loaded > 0)
            {
                ArchiveLog.CacheLoaded(_logger, loaded, path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ArchiveLog.CacheUnavailable(_logger, path, "read", e);
        }
    }

    private void SaveCache()
    {
        if (_options.CacheFile is not { Length: > 0 } path)
        {
            return;
        }

        try
        {
            _cache.Save(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            ArchiveLog.CacheUnavailable(_logger, path, "written", e);
        }
    }
}
