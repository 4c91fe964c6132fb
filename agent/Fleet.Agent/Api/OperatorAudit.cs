using System.Text.Encodings.Web;
using System.Text.Json;
using Fleet.Agent.Configuration;
using Microsoft.Extensions.Options;

namespace Fleet.Agent.Api;

/// <summary>One operator call as audited: who, what, under which epoch, and what came of it.</summary>
internal sealed record OperatorAuditRecord(
    DateTimeOffset Time,
    string Actor,
    string Operator,
    string Action,
    ulong Epoch,
    string Outcome,
    string Message,
    string Reason,
    string Peer);

/// <summary>
/// The audit trail of AgentService's operator methods: one JSON object per line, appended to
/// <c>audit.jsonl</c> in the agent's state directory (Node:StateDirectory, where the epoch file is) and
/// flushed to disk before the call answers. Each line is written with one append, so lines never
/// interleave. Without a state directory (development without a data directory) the audit is the log only.
/// </summary>
internal sealed class OperatorAudit
{
    public const string FileName = "audit.jsonl";

    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly ILogger<OperatorAudit> _logger;

    public OperatorAudit(IOptions<AgentOptions> options, ILogger<OperatorAudit> logger)
    {
        _logger = logger;
        var directory = options.Value.Node.ResolveStateDirectory(options.Value.Postgres.DataDirectory);
        FilePath = directory is null ? null : Path.Combine(directory, FileName);
    }

    /// <summary>The audit file; null when the agent has no state directory.</summary>
    public string? FilePath { get; }

    /// <summary>Appends <paramref name="record"/> and flushes it to disk. A write that fails is logged (with the record) and does not throw.</summary>
    public async Task AppendAsync(OperatorAuditRecord record)
    {
        if (FilePath is null)
        {
            return;
        }

        var line = Serialize(record);
        await _gate.WaitAsync();
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
            var open = new FileStreamOptions { Mode = FileMode.Append, Access = FileAccess.Write, Share = FileShare.ReadWrite };
            if (!OperatingSystem.IsWindows())
            {
                open.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
            }

            await using var stream = new FileStream(FilePath, open);
            await stream.WriteAsync(line);
            stream.Flush(flushToDisk: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            OperatorLog.AuditWriteFailed(_logger, FilePath, record.Action, record.Actor, record.Outcome, e);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The record as one line of JSON, newline included (control characters in values are escaped).</summary>
    public static byte[] Serialize(OperatorAuditRecord record)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("time", record.Time.UtcDateTime);
            json.WriteString("actor", record.Actor);
            json.WriteString("operator", record.Operator);
            json.WriteString("action", record.Action);
            json.WriteNumber("epoch", record.Epoch);
            json.WriteString("outcome", record.Outcome);
            json.WriteString("message", record.Message);
            json.WriteString("reason", record.Reason);
            json.WriteString("peer", record.Peer);
            json.WriteEndObject();
        }

        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}
