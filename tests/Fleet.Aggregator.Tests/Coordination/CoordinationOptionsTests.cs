using Fleet.Aggregator.Coordination;

namespace Fleet.Aggregator.Tests.Coordination;

public sealed class CoordinationOptionsTests
{
    private static CoordinationOptions Etcd(Action<EtcdCoordinationOptions>? change = null)
    {
        var options = new CoordinationOptions { Mode = CoordinationMode.Etcd, Etcd = { Endpoints = ["http://127.0.0.1:2379", "http://127.0.0.1:2380"] } };
        change?.Invoke(options.Etcd);
        return options;
    }

    [Fact]
    public void Defaults_NoneMode_AndTheEtcdDefaults_AreValid()
    {
        var validator = new CoordinationOptionsValidator();
        Assert.True(validator.Validate(null, new CoordinationOptions()).Succeeded);
        Assert.True(validator.Validate(null, Etcd()).Succeeded);
    }

    public static TheoryData<string, string> Invalid() => new()
    {
        { "no endpoints", "Coordination:Etcd:Endpoints must list" },
        { "not a url", "'etcd-1:2379' is not an http:// or https:// URL" },
        { "mixed schemes", "mixes http:// and https://" },
        { "prefix", "Coordination:Etcd:Prefix must start with '/'" },
        { "ttl fraction", "LeaseTtl must be whole seconds" },
        { "ttl too short", "LeaseTtl must be whole seconds, at least 00:00:02" },
        { "request timeout", "RequestTimeout must be positive and at most" },
        { "no second renewal", "a leader must have time for a second renewal" },
        { "certificate without key", "CertificateFile and Coordination:Etcd:KeyFile go together" },
        { "missing ca", "Coordination:Etcd:CaFile: file '/nonexistent/ca.pem' does not exist" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Etcd_BadSetting_RefusedAtStartUp_NamingTheKey(string problem, string expected)
    {
        var options = Etcd(etcd =>
        {
            switch (problem)
            {
                case "no endpoints": etcd.Endpoints = []; break;
                case "not a url": etcd.Endpoints = ["etcd-1:2379"]; break;
                case "mixed schemes": etcd.Endpoints = ["http://a:2379", "https://b:2379"]; break;
                case "prefix": etcd.Prefix = "fleet/"; break;
                case "ttl fraction": etcd.LeaseTtl = TimeSpan.FromSeconds(6.5); break;
                case "ttl too short": etcd.LeaseTtl = TimeSpan.FromSeconds(1); break;
                case "request timeout": etcd.RequestTimeout = TimeSpan.FromSeconds(2); break;
                case "no second renewal": (etcd.LeaseTtl, etcd.RenewInterval, etcd.StepDownMargin) = (TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)); break;
                case "certificate without key": etcd.CertificateFile = "/etc/hostname"; break;
                case "missing ca": etcd.CaFile = "/nonexistent/ca.pem"; break;
            }
        });

        var result = new CoordinationOptionsValidator().Validate(null, options);

        Assert.False(result.Succeeded);
        Assert.Contains(result.Failures!, f => f.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void LeaderLease_ActsUntilTheRenewalSendTimePlusTtlMinusTheMargin()
    {
        // Counted from the send time, never from the answer: etcd restarted the TTL later than that.
        var sent = new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(sent.AddSeconds(4), LeaderLease.ActUntil(sent, TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(2)));
    }

    [Theory]
    [InlineData(0, 0, 0)] // no term seen: nothing assumed
    [InlineData(42, 0, 2000)] // the term seen ended and no term since resigned: its lease ran out
    [InlineData(42, 1, 0)] // it (or a later term) resigned, revoking its lease at once: nothing assumed
    [InlineData(42, 3, 0)]
    public void PredecessorQuiet_TheMarginOnlyWhenTheLastTermSeenEndedByItsLeaseRunningOut(long observedTerm, long resignedSince, int expectedMs) =>
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), LeaderLease.PredecessorQuiet(observedTerm, resignedSince, TimeSpan.FromSeconds(2)));
}
