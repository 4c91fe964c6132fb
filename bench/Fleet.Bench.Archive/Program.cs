using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Fleet.Agent.Archive.Hosting;
using Fleet.Agent.Archive.Storage;
using Fleet.Agent.Archive.Verification;
using Fleet.Agent.Archive.Wal;
using Fleet.Bench.Archive;
using Fleet.Protos.V1;
using Npgsql;

// Fleet.Bench.Archive: see bench/README.md. Progress goes to stderr, the table to stdout.
var segments = 1000;
var repeat = 5;
var parent = Path.GetTempPath();
var keep = false;
string? existing = null;
var bin = Environment.GetEnvironmentVariable("FLEET_PG_BIN") ?? FindBin();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--segments" when i + 1 < args.Length:
            segments = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--repeat" when i + 1 < args.Length:
            repeat = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--dir" when i + 1 < args.Length:
            parent = args[++i];
            break;
        case "--bin" when i + 1 < args.Length:
            bin = args[++i];
            break;
        case "--keep":
            keep = true;
            break;
        case "--archive" when i + 1 < args.Length:
            existing = args[++i];
            break;
        default:
            await Console.Error.WriteLineAsync("usage: Fleet.Bench.Archive [--segments 1000] [--repeat 5] [--dir /tmp] [--bin /usr/lib/postgresql/NN/bin] [--keep] [--archive DIR]");
            return 2;
    }
}

var optimized = typeof(ArchiveVerifier).Assembly.GetCustomAttribute<DebuggableAttribute>()?.IsJITOptimizerDisabled != true;
var version = (await BenchCluster.Run(Path.Combine(bin, "postgres"), ["--version"], TimeSpan.FromSeconds(10))).Stdout.Trim();
BenchCluster? cluster = null;
try
{
    NodeView node;
    string archiveDirectory;
    if (existing is null)
    {
        cluster = await BenchCluster.StartAsync(bin, parent, 55000 + Random.Shared.Next(0, 5000));
        var generation = Stopwatch.StartNew();
        await GenerateAsync(cluster, segments + 2);
        Log($"generated WAL in {generation.Elapsed.TotalSeconds:0} s");
        await using (var connection = new NpgsqlConnection(cluster.ConnectionString))
        {
            await connection.OpenAsync();
            node = await NodeViewProbe.QueryAsync(connection, CancellationToken.None);
        }

        await cluster.DisposeAsync();
        archiveDirectory = cluster.Archive;
    }
    else
    {
        archiveDirectory = existing;
        node = FromArchive(existing);
    }

    var segmentSize = node.SegmentSize ?? throw new InvalidOperationException("no wal_segment_size");
    var chosen = Directory.GetFiles(archiveDirectory)
        .Select(Path.GetFileName)
        .Where(n => WalFileName.TryParse(n!, out var p) && p.Kind == WalFileKind.Segment)
        .Order(StringComparer.Ordinal)
        .Take(segments)
        .ToList();
    if (chosen.Count < segments)
    {
        throw new InvalidOperationException($"only {chosen.Count} segments were archived");
    }

    var first = chosen[0]!;
    var last = chosen[^1]!;
    var names = chosen.ToHashSet(StringComparer.Ordinal)!;
    var reader = new FilteredArchiveReader(new DirectoryArchiveReader(archiveDirectory), names!);
    var totalBytes = (double)segments * segmentSize;
    Log($"{segments} segments {first} .. {last}; warming the page cache");
    foreach (var name in chosen)
    {
        await File.ReadAllBytesAsync(Path.Combine(archiveDirectory, name!));
    }

    var settings = new ArchiveSettings { NodeRegion = "bench", ArchiveRegion = "bench", MaxBaseBackupAge = TimeSpan.Zero };
    async Task<VerificationOutcome> Verify(bool deep, int parallelism, SegmentCache? cache = null)
    {
        var verifier = new ArchiveVerifier(reader, cache ?? new SegmentCache(), TimeProvider.System, parallelism);
        var outcome = await verifier.VerifyAsync(node, settings, deep, null, null, null, CancellationToken.None);
        if (outcome.Status.Verdict == ArchiveVerdict.Failure || outcome.Status.SegmentsVerified != (ulong)segments)
        {
            throw new InvalidOperationException($"unexpected result: {outcome.Status}");
        }

        return outcome;
    }

    // Warm-up (JIT, thread pool), then measure each variant interleaved.
    await Verify(false, 2);
    await Verify(true, 2);
    var rows = new Dictionary<string, List<double>>();
    void Add(string key, double ms) => (rows.TryGetValue(key, out var list) ? list : rows[key] = []).Add(ms);
    var shared = new SegmentCache();
    await Verify(false, 2, shared);
    long waldumpRecords = 0;
    for (var r = 0; r < repeat; r++)
    {
        Log($"round {r + 1}/{repeat}");
        Add("headers2", await TimeAsync(() => Verify(false, 2)));
        Add("headers1", await TimeAsync(() => Verify(false, 1)));
        Add("incremental", await TimeAsync(() => Verify(false, 2, shared)));
        Add("deep2", await TimeAsync(() => Verify(true, 2)));
        Add("deep1", await TimeAsync(() => Verify(true, 1)));
        var sw = Stopwatch.StartNew();
        var dump = await RunUnchecked(Path.Combine(bin, "pg_waldump"), ["--stats", "-p", archiveDirectory, first, last]);
        Add("waldump", sw.Elapsed.TotalMilliseconds);
        waldumpRecords = ParseTotalRecords(dump);
    }

    var cores = Environment.ProcessorCount;
    Console.WriteLine($"Fleet.Bench.Archive: {segments} real WAL segments of {segmentSize / 1024 / 1024} MiB ({totalBytes / 1024 / 1024:0} MiB, {waldumpRecords:N0} records per pg_waldump) from {version}");
    var load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
    Console.WriteLine($"pgbench workload; {cores} cores, load average {load} at the end; warm page cache; median (best) of {repeat} runs; build {(optimized ? "Release" : "DEBUG: figures meaningless, use -c Release")}");
    Console.WriteLine();
    Console.WriteLine($"{"check",-52} {"median",10} {"best",10} {"throughput",12}  target");
    Row("header-level, all page headers, cold cache, 2 workers", rows["headers2"], totalBytes, "< 100 ms", Median(rows["headers2"]) < 100 ? "met" : rows["headers2"].Min() < 100 ? "met at best, not at median" : "MISSED");
    Row("header-level, all page headers, cold cache, 1 worker", rows["headers1"], totalBytes, string.Empty, string.Empty);
    Row("header-level, incremental (all segments unchanged)", rows["incremental"], null, string.Empty, string.Empty);
    var waldump = Median(rows["waldump"]);
    Row("deep: every record's CRC-32C, 2 workers", rows["deep2"], totalBytes, "> pg_waldump", Median(rows["deep2"]) < waldump ? $"met, {waldump / Median(rows["deep2"]):0.0}x" : "MISSED");
    Row("deep: every record's CRC-32C, 1 worker", rows["deep1"], totalBytes, string.Empty, Median(rows["deep1"]) < waldump ? $"{waldump / Median(rows["deep1"]):0.0}x pg_waldump" : string.Empty);
    Row("pg_waldump --stats (same segments, one process)", rows["waldump"], totalBytes, string.Empty, string.Empty);
    return 0;

    static void Row(string name, List<double> ms, double? bytes, string target, string verdict)
    {
        var median = Median(ms);
        var throughput = bytes is { } b ? $"{b / (median / 1000) / 1e6,8:0} MB/s" : string.Empty;
        Console.WriteLine($"{name,-52} {median,7:0.0} ms {ms.Min(),7:0.0} ms {throughput,12}  {target} {verdict}".TrimEnd());
    }
}
finally
{
    if (cluster is not null)
    {
        await cluster.DisposeAsync();
        if (keep)
        {
            Log($"kept {cluster.Archive} (rerun with --archive {cluster.Archive})");
        }
        else
        {
            cluster.Delete();
        }
    }
}

// With --archive: the node's view from the first segment's long page header.
static NodeView FromArchive(string directory)
{
    var first = Directory.GetFiles(directory).Where(f => Path.GetFileName(f).Length == 24).Order(StringComparer.Ordinal).First();
    var bytes = new byte[WalFormat.LongHeaderSize];
    using (var file = File.OpenRead(first))
    {
        file.ReadExactly(bytes);
    }

    var header = WalPageHeader.Read(bytes);
    return new NodeView
    {
        Source = "sql",
        SystemIdentifier = header.SystemIdentifier,
        SegmentSize = header.SegmentSize,
        BlockSize = (int)header.BlockSize,
        MajorVersion = WalFormat.MajorForMagic(header.Magic),
        Timeline = header.Timeline,
        Role = NodeRole.Primary,
        ArchiveMode = "on",
    };
}

static async Task GenerateAsync(BenchCluster cluster, int target)
{
    var connect = new[] { "-h", cluster.Root, "-p", cluster.Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres" };
    Log("pgbench -i -s 30");
    await cluster.ToolAsync("pgbench", [.. connect, "-i", "-s", "30", "-q", "postgres"], TimeSpan.FromMinutes(10));
    var deadline = Stopwatch.StartNew();
    while (Count(cluster.Archive) < target)
    {
        if (deadline.Elapsed > TimeSpan.FromMinutes(15))
        {
            throw new TimeoutException($"only {Count(cluster.Archive)} segments archived after 15 minutes");
        }

        Log($"{Count(cluster.Archive)} segments archived; pgbench -T 10");
        await cluster.ToolAsync("pgbench", [.. connect, "-n", "-c", "4", "-j", "2", "-T", "10", "postgres"], TimeSpan.FromMinutes(2));
    }

    await using var connection = new NpgsqlConnection(cluster.ConnectionString);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand("SELECT pg_walfile_name(pg_switch_wal())", connection);
    var switched = (string)(await command.ExecuteScalarAsync())!;
    var wait = Stopwatch.StartNew();
    while (!File.Exists(Path.Combine(cluster.Archive, switched)) || File.Exists(Path.Combine(cluster.Data, "pg_wal", "archive_status", switched + ".ready")))
    {
        if (wait.Elapsed > TimeSpan.FromMinutes(2))
        {
            throw new TimeoutException($"{switched} was not archived");
        }

        await Task.Delay(100);
    }

    static int Count(string archive) => Directory.GetFiles(archive).Length;
}

static async Task<double> TimeAsync(Func<Task> action)
{
    var sw = Stopwatch.StartNew();
    await action();
    return sw.Elapsed.TotalMilliseconds;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}

static async Task<string> RunUnchecked(string file, string[] arguments)
{
    var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
    foreach (var argument in arguments)
    {
        start.ArgumentList.Add(argument);
    }

    using var process = Process.Start(start)!;
    var stdout = process.StandardOutput.ReadToEndAsync();
    var stderr = process.StandardError.ReadToEndAsync();
    await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
    var output = await stdout;
    if (!output.Contains("Total", StringComparison.Ordinal))
    {
        throw new InvalidOperationException($"pg_waldump failed ({process.ExitCode}): {await stderr}");
    }

    return output;
}

static long ParseTotalRecords(string stats)
{
    var match = Regex.Match(stats, @"^Total\s+(\d+)", RegexOptions.Multiline);
    return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
}

static string FindBin() =>
    Directory.Exists("/usr/lib/postgresql")
        ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending(StringComparer.Ordinal).FirstOrDefault()
          ?? throw new InvalidOperationException("no PostgreSQL under /usr/lib/postgresql; pass --bin")
        : throw new InvalidOperationException("no PostgreSQL under /usr/lib/postgresql; pass --bin");

static void Log(string message) => Console.Error.WriteLine($"[bench] {message}");
