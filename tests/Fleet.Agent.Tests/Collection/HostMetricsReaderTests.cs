using Fleet.Agent.Collection;

namespace Fleet.Agent.Tests.Collection;

public sealed class HostMetricsReaderTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("fleet-host-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void ParseCpuLine_SumsTheFirstEightFieldsAndCountsIdleAndIowaitAsNotBusy()
    {
        // user nice system idle iowait irq softirq steal guest guest_nice
        var times = HostMetricsReader.ParseCpuLine("cpu  100 5 50 800 20 3 2 20 7 0");

        Assert.Equal(new CpuTimes(Busy: 180, Total: 1000), times);
    }

    [Theory]
    [InlineData("cpu0 1 2 3 4 5")]
    [InlineData("intr 1 2 3 4 5")]
    [InlineData("cpu 1 2 x 4 5")]
    [InlineData("cpu 1")]
    public void ParseCpuLine_NotTheAggregateLine_ReturnsNull(string line) => Assert.Null(HostMetricsReader.ParseCpuLine(line));

    [Fact]
    public void Read_FakeProcWithoutCgroupLimit_UsesMemTotalMinusMemAvailableAndCpuFromTheSecondSample()
    {
        var proc = Directory.CreateDirectory(Path.Combine(_root, "proc")).FullName;
        File.WriteAllText(Path.Combine(proc, "meminfo"), "MemTotal:       1000 kB\nMemFree:         100 kB\nMemAvailable:    400 kB\n");
        File.WriteAllText(Path.Combine(proc, "stat"), "cpu  10 0 10 80 0 0 0 0 0 0\ncpu0 10 0 10 80 0 0 0 0 0 0\n");
        var reader = new HostMetricsReader(proc, Path.Combine(_root, "no-cgroup"));
        var errors = new List<string>();

        var first = reader.Read(_root, errors);
        File.WriteAllText(Path.Combine(proc, "stat"), "cpu  40 0 40 120 0 0 0 0 0 0\n");
        var second = reader.Read(_root, errors);

        Assert.Empty(errors);
        Assert.Equal(1000UL * 1024, first.MemoryTotalBytes);
        Assert.Equal(600UL * 1024, first.MemoryUsedBytes);
        Assert.False(first.HasCpuPercent);
        Assert.Equal(60.0, second.CpuPercent, 9);
        Assert.True(first.DiskTotalBytes > 0);
        Assert.InRange(first.DiskUsedBytes, 1UL, first.DiskTotalBytes);
    }

    [Fact]
    public void Read_CgroupLimitBelowPhysicalMemory_ReportsTheLimitAndUsageWithoutInactiveFileCache()
    {
        var proc = Directory.CreateDirectory(Path.Combine(_root, "proc")).FullName;
        var cgroup = Directory.CreateDirectory(Path.Combine(_root, "cgroup")).FullName;
        File.WriteAllText(Path.Combine(proc, "meminfo"), "MemTotal:    1000000 kB\nMemAvailable: 900000 kB\n");
        File.WriteAllText(Path.Combine(cgroup, "memory.max"), "1048576\n");
        File.WriteAllText(Path.Combine(cgroup, "memory.current"), "700000\n");
        File.WriteAllText(Path.Combine(cgroup, "memory.stat"), "anon 500000\nfile 200000\ninactive_file 150000\n");

        var host = new HostMetricsReader(proc, cgroup).Read(dataDirectory: null, []);

        Assert.Equal(1048576UL, host.MemoryTotalBytes);
        Assert.Equal(550000UL, host.MemoryUsedBytes);
        Assert.Equal(0UL, host.DiskTotalBytes);
    }

    [Fact]
    public void Read_NothingReadable_LeavesFieldsUnsetWithoutThrowing()
    {
        var host = new HostMetricsReader(Path.Combine(_root, "missing"), Path.Combine(_root, "missing")).Read(null, []);

        Assert.False(host.HasCpuPercent);
        Assert.Equal(0UL, host.MemoryTotalBytes);
    }
}
