using Fleet.Testing;
using System.Buffers;
using System.Globalization;
using System.Text;
using Fleet.Hosting.Prometheus;

namespace Fleet.Agent.Tests.Metrics;

public sealed class PrometheusTextWriterTests
{
    [Fact]
    public void Writes_help_and_type_once_then_samples()
    {
        var text = Write(w =>
        {
            w.BeginFamily("demo_requests_total", PrometheusMetricType.Counter, "Requests.");
            w.Sample("code", "200", 10UL);
            w.Sample("code", "500", 2UL);
            w.WriteGauge("demo_temperature_celsius", "Temperature.", 21.5);
        });

        Assert.Equal(
            "# HELP demo_requests_total Requests.\n# TYPE demo_requests_total counter\n" +
            "demo_requests_total{code=\"200\"} 10\ndemo_requests_total{code=\"500\"} 2\n" +
            "# HELP demo_temperature_celsius Temperature.\n# TYPE demo_temperature_celsius gauge\ndemo_temperature_celsius 21.5\n",
            text);
    }

    [Fact]
    public void A_family_without_samples_writes_nothing()
    {
        var text = Write(w =>
        {
            w.BeginFamily("demo_empty", PrometheusMetricType.Gauge, "Nothing.");
            w.WriteGauge("demo_one", "One.", 1);
        });

        Assert.DoesNotContain("demo_empty", text, StringComparison.Ordinal);
        Assert.StartsWith("# HELP demo_one One.\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Several_labels_are_comma_separated()
    {
        var text = Write(w =>
        {
            w.BeginFamily("demo_info", PrometheusMetricType.Gauge, "Info.");
            w.BeginSample();
            w.Label("a", "x");
            w.Label("b", 42UL);
            w.Label("c", string.Empty);
            w.EndSample(1);
        });

        Assert.EndsWith("demo_info{a=\"x\",b=\"42\",c=\"\"} 1\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a\"b", "a\\\"b")]
    [InlineData("a\\b", "a\\\\b")]
    [InlineData("a\nb", "a\\nb")]
    [InlineData("\\\"\n", "\\\\\\\"\\n")]
    [InlineData("tab\there", "tab\there")]
    [InlineData("한글 ü", "한글 ü")]
    public void Label_values_are_escaped(string value, string expected)
    {
        var text = Write(w =>
        {
            w.BeginFamily("demo", PrometheusMetricType.Gauge, "Demo.");
            w.Sample("v", value, 1);
        });

        Assert.EndsWith($"demo{{v=\"{expected}\"}} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Unpaired_surrogates_become_the_replacement_character()
    {
        var text = Write(w =>
        {
            w.BeginFamily("demo", PrometheusMetricType.Gauge, "Demo.");
            w.Sample("v", "a\uD800b", 1);
        });

        Assert.EndsWith("demo{v=\"a\uFFFDb\"} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_text_escapes_backslash_and_newline_but_not_quotes()
    {
        var text = Write(w => w.WriteGauge("demo", "A \"quoted\" C:\\path\nsecond line.", 1));

        Assert.StartsWith("# HELP demo A \"quoted\" C:\\\\path\\nsecond line.\n", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(1.0, "1")]
    [InlineData(-42.0, "-42")]
    [InlineData(0.1, "0.1")]
    [InlineData(123.456, "123.456")]
    [InlineData(1e15, "1000000000000000")]
    [InlineData(1e18, "1000000000000000000")]
    [InlineData(12884910080.0, "12884910080")]
    [InlineData(1e-7, "1E-07")]
    [InlineData(1e300, "1E+300")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    public void Doubles_use_go_parsefloat_syntax(double value, string expected)
    {
        var text = Write(w => w.WriteGauge("demo", "Demo.", value));

        Assert.EndsWith($"\ndemo {expected}\n", text, StringComparison.Ordinal);
        if (double.IsFinite(value))
        {
            Assert.Equal(value, double.Parse(expected, CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void Negative_zero_is_zero()
    {
        var text = Write(w => w.WriteGauge("demo", "Demo.", -0.0));

        Assert.EndsWith("\ndemo 0\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsigned_values_are_exact()
    {
        var text = Write(w => w.WriteCounter("demo_total", "Demo.", ulong.MaxValue));

        Assert.EndsWith("\ndemo_total 18446744073709551615\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Formatting_ignores_the_current_culture()
    {
        var original = CultureInfo.CurrentCulture;
        var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        comma.NumberFormat.NegativeSign = "~";
        try
        {
            CultureInfo.CurrentCulture = comma;
            var text = Write(w => w.WriteGauge("demo", "Demo.", -1.5));

            Assert.EndsWith("\ndemo -1.5\n", text, StringComparison.Ordinal);
        }
        finally
        {
            CultureInfo.CurrentCulture = original;
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("1abc")]
    [InlineData("has-dash")]
    [InlineData("has space")]
    [InlineData("ünicode")]
    public void Invalid_metric_names_are_rejected(string name) =>
        Assert.Throws<ArgumentException>(() => Write(w => w.BeginFamily(name, PrometheusMetricType.Gauge, "x")));

    [Theory]
    [InlineData("")]
    [InlineData("__reserved")]
    [InlineData("1x")]
    [InlineData("a:b")]
    [InlineData("a-b")]
    public void Invalid_label_names_are_rejected(string label) =>
        Assert.Throws<ArgumentException>(() => Write(w =>
        {
            w.BeginFamily("demo", PrometheusMetricType.Gauge, "x");
            w.Sample(label, "v", 1);
        }));

    [Fact]
    public void Valid_names_include_colons_and_underscores()
    {
        Assert.True(PrometheusNames.IsValidMetricName("job:fleet_pg_up:sum"));
        Assert.True(PrometheusNames.IsValidMetricName("_x9"));
        Assert.True(PrometheusNames.IsValidLabelName("_x9"));
    }

    [Fact]
    public void Counters_must_end_in_total_and_gauges_must_not()
    {
        Assert.Throws<ArgumentException>(() => Write(w => w.BeginFamily("demo_requests", PrometheusMetricType.Counter, "x")));
        Assert.Throws<ArgumentException>(() => Write(w => w.BeginFamily("demo_requests_total", PrometheusMetricType.Gauge, "x")));
    }

    [Fact]
    public void A_family_cannot_be_written_twice()
    {
        Assert.Throws<InvalidOperationException>(() => Write(w =>
        {
            w.WriteGauge("demo", "x", 1);
            w.WriteGauge("other", "x", 1);
            w.WriteGauge("demo", "x", 2);
        }));
    }

    [Fact]
    public void Misuse_of_the_sample_protocol_throws()
    {
        Assert.Throws<InvalidOperationException>(() => Write(w => w.Sample(1)));
        Assert.Throws<InvalidOperationException>(() => Write(w =>
        {
            w.BeginFamily("demo", PrometheusMetricType.Gauge, "x");
            w.Label("a", "b");
        }));
        Assert.Throws<InvalidOperationException>(() => Write(w =>
        {
            w.BeginFamily("demo", PrometheusMetricType.Gauge, "x");
            w.BeginSample();
            w.BeginSample();
        }));
    }

    [Fact]
    public void Series_are_counted()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new PrometheusTextWriter(buffer);
        w.WriteGauge("a", "x", 1);
        w.BeginFamily("b", PrometheusMetricType.Gauge, "x");
        w.Sample("l", "1", 1);
        w.Sample("l", "2", 1);

        Assert.Equal(3, w.SeriesCount);
    }

    [Fact]
    public void Output_passes_promtool()
    {
        var text = Write(w =>
        {
            w.BeginFamily("demo_requests_total", PrometheusMetricType.Counter, "Requests \\ with \"odd\"\nhelp.");
            w.Sample("path", "/a\"b\\c\nd", 1UL);
            w.Sample("path", "한글", ulong.MaxValue);
            w.BeginFamily("demo_values", PrometheusMetricType.Gauge, "Values.");
            w.Sample("v", "nan", double.NaN);
            w.Sample("v", "inf", double.PositiveInfinity);
            w.Sample("v", "-inf", double.NegativeInfinity);
            w.Sample("v", "tiny", 1e-7);
            w.Sample("v", "huge", 1e300);
        });

        Promtool.AssertValid(text);
    }

    private static string Write(Action<PrometheusTextWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(new PrometheusTextWriter(buffer));
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
