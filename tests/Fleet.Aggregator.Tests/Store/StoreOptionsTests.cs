using Fleet.Aggregator.Store;
using Fleet.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Fleet.Aggregator.Tests.Store;

public sealed class StoreOptionsTests
{
    [Fact]
    public void Defaults_AreValid()
    {
        Assert.True(new StoreOptionsValidator().Validate(null, new StoreOptions()).Succeeded);
        Assert.Equal(TimeSpan.FromDays(30), new StoreOptions().Retention);
    }

    [Theory]
    [InlineData(":memory:")]
    [InlineData("file::memory:?cache=shared")]
    [InlineData("file:fleet?mode=memory")]
    [InlineData("")]
    public void InMemoryOrEmptyPath_IsRejectedNamingTheKey(string path)
    {
        var result = new StoreOptionsValidator().Validate(null, new StoreOptions { Path = path });
        Assert.True(result.Failed);
        Assert.Contains("Store:Path", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryBadValue_IsReportedAtOnceNamingItsKey()
    {
        var result = new StoreOptionsValidator().Validate(null, new StoreOptions
        {
            Path = Path.GetTempPath(),
            Retention = TimeSpan.Zero,
            MaxEvents = 0,
            MaxAlertHistory = -1,
            BusyTimeout = TimeSpan.Zero,
            ReaderConnections = 0,
        });

        foreach (var key in new[] { "Store:Path", "Store:Retention", "Store:MaxEvents", "Store:MaxAlertHistory", "Store:BusyTimeout", "Store:ReaderConnections" })
        {
            Assert.Contains(key, result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AddFleetStore_HostStart_BindsValidatesAndInitialises()
    {
        var directory = Path.Combine(Path.GetTempPath(), "fleet-store-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = directory, DisableDefaults = true });
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Store:Path"] = "data/store.db",
                ["Store:Retention"] = "7.00:00:00",
            });
            builder.Services.AddFleetStore(builder.Configuration);
            using var host = builder.Build();

            await host.StartAsync().DefaultTimeout();
            var store = host.Services.GetRequiredService<IFleetStore>();
            var result = await store.TryAdvanceEpochAsync("orders", 0, 1, CancellationToken.None).DefaultTimeout();
            await host.StopAsync().DefaultTimeout();

            Assert.True(result.Succeeded);
            Assert.Equal(TimeSpan.FromDays(7), host.Services.GetRequiredService<IOptions<StoreOptions>>().Value.Retention);
            Assert.True(File.Exists(Path.Combine(directory, "data", "store.db")));
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    [Fact]
    public async Task AddFleetStore_InvalidOptions_StopsHostStart()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Store:Path"] = ":memory:" });
        builder.Services.AddFleetStore(builder.Configuration);
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync()).DefaultTimeout();

        Assert.Contains("Store:Path", error.Message, StringComparison.Ordinal);
    }
}
