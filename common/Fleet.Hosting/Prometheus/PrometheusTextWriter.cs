using System.Buffers;
using System.Globalization;
using System.Text;

namespace Fleet.Hosting.Prometheus;

/// <summary>
/// Writes the Prometheus text exposition format (version 0.0.4) as UTF-8 into an <see cref="IBufferWriter{T}"/>,
/// e.g. an HTTP response's <c>BodyWriter</c> or an <see cref="ArrayBufferWriter{T}"/>, without intermediate strings.
/// Self-contained (no Fleet dependencies), so it can move to a shared project for the aggregator.
/// </summary>
/// <remarks>
/// Usage: <see cref="BeginFamily"/>, then its samples (<see cref="Sample(double)"/> or
/// <see cref="BeginSample"/>, <see cref="Label(string, ReadOnlySpan{char})"/>..., <see cref="EndSample(double)"/>);
/// then the next family. The HELP and TYPE lines are written with a family's first sample, so a family
/// without samples writes nothing. Each family name may be begun once per exposition. Names are checked
/// (throwing <see cref="ArgumentException"/>): they are code constants, so a bad one is a bug, never input.
/// Label values are escaped (backslash, double quote, line feed) and may be any string.
/// </remarks>
public sealed class PrometheusTextWriter
{
    /// <summary>The Content-Type of the format this writer produces.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private static readonly SearchValues<char> LabelValueSpecials = SearchValues.Create("\\\"\n");
    private static readonly SearchValues<char> HelpSpecials = SearchValues.Create("\\\n");

    private readonly IBufferWriter<byte> _output;
    private readonly HashSet<string> _families = new(128, StringComparer.Ordinal);
    private string? _family;
    private string _help = string.Empty;
    private PrometheusMetricType _type;
    private bool _headerWritten;
    private bool _inSample;
    private bool _hasLabels;

    public PrometheusTextWriter(IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        _output = output;
    }

    /// <summary>Samples written so far (one per series).</summary>
    public int SeriesCount { get; private set; }

    /// <summary>Starts a metric family. A counter's name must end in <c>_total</c>, any other's must not.</summary>
    public void BeginFamily(string name, PrometheusMetricType type, string help)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(help);
        EnsureNotInSample();
        if (!PrometheusNames.IsValidMetricName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid Prometheus metric name.", nameof(name));
        }

        var isTotal = name.EndsWith("_total", StringComparison.Ordinal);
        if ((type == PrometheusMetricType.Counter) != isTotal)
        {
            throw new ArgumentException($"'{name}': counter names, and only they, end in '_total'.", nameof(name));
        }

        if (!_families.Add(name))
        {
            throw new InvalidOperationException($"Metric family '{name}' was already written; a family's samples must be contiguous.");
        }

        _family = name;
        _help = help;
        _type = type;
        _headerWritten = false;
    }

    /// <summary>A gauge family with one unlabelled sample.</summary>
    public void WriteGauge(string name, string help, double value)
    {
        BeginFamily(name, PrometheusMetricType.Gauge, help);
        Sample(value);
    }

    /// <summary>A counter family (name ending in <c>_total</c>) with one unlabelled sample.</summary>
    public void WriteCounter(string name, string help, ulong value)
    {
        BeginFamily(name, PrometheusMetricType.Counter, help);
        Sample(value);
    }

    /// <summary>A counter family (name ending in <c>_total</c>) with one unlabelled sample.</summary>
    public void WriteCounter(string name, string help, double value)
    {
        BeginFamily(name, PrometheusMetricType.Counter, help);
        Sample(value);
    }

    /// <summary>A sample without labels.</summary>
    public void Sample(double value)
    {
        BeginSample();
        EndSample(value);
    }

    /// <summary>A sample without labels.</summary>
    public void Sample(ulong value)
    {
        BeginSample();
        EndSample(value);
    }

    /// <summary>A sample with one label.</summary>
    public void Sample(string labelName, ReadOnlySpan<char> labelValue, double value)
    {
        BeginSample();
        Label(labelName, labelValue);
        EndSample(value);
    }

    /// <summary>A sample with one label.</summary>
    public void Sample(string labelName, ReadOnlySpan<char> labelValue, ulong value)
    {
        BeginSample();
        Label(labelName, labelValue);
        EndSample(value);
    }

    /// <summary>Starts a sample of the current family; add labels, then end it with its value.</summary>
    public void BeginSample()
    {
        if (_family is null)
        {
            throw new InvalidOperationException("BeginFamily must come before samples.");
        }

        EnsureNotInSample();
        if (!_headerWritten)
        {
            WriteHeader();
        }

        WriteAscii(_family);
        _inSample = true;
        _hasLabels = false;
    }

    /// <summary>Adds a label to the sample being written; the value is escaped.</summary>
    public void Label(string name, ReadOnlySpan<char> value)
    {
        BeginLabel(name);
        WriteEscaped(value, LabelValueSpecials);
        WriteByte((byte)'"');
    }

    /// <summary>Adds a label with a numeric value to the sample being written.</summary>
    public void Label(string name, ulong value)
    {
        BeginLabel(name);
        WriteFormatted(value);
        WriteByte((byte)'"');
    }

    /// <summary>Ends the sample being written with its value.</summary>
    public void EndSample(double value)
    {
        EndLabels();
        WriteValue(value);
        WriteByte((byte)'\n');
    }

    /// <summary>Ends the sample being written with an exact integer value.</summary>
    public void EndSample(ulong value)
    {
        EndLabels();
        WriteFormatted(value);
        WriteByte((byte)'\n');
    }

    private void WriteHeader()
    {
        WriteAscii("# HELP ");
        WriteAscii(_family!);
        WriteByte((byte)' ');
        WriteEscaped(_help, HelpSpecials);
        WriteAscii("\n# TYPE ");
        WriteAscii(_family!);
        WriteAscii(_type == PrometheusMetricType.Counter ? " counter\n" : " gauge\n");
        _headerWritten = true;
    }

    private void BeginLabel(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_inSample)
        {
            throw new InvalidOperationException("Labels belong to a sample: call BeginSample first.");
        }

        if (!PrometheusNames.IsValidLabelName(name))
        {
            throw new ArgumentException($"'{name}' is not a valid Prometheus label name.", nameof(name));
        }

        WriteByte(_hasLabels ? (byte)',' : (byte)'{');
        _hasLabels = true;
        WriteAscii(name);
        WriteAscii("=\"");
    }

    private void EndLabels()
    {
        if (!_inSample)
        {
            throw new InvalidOperationException("No sample is being written: call BeginSample first.");
        }

        WriteAscii(_hasLabels ? "} " : " ");
        _inSample = false;
        SeriesCount++;
    }

    private void EnsureNotInSample()
    {
        if (_inSample)
        {
            throw new InvalidOperationException("The previous sample was not ended.");
        }
    }

    /// <summary>
    /// Go's ParseFloat syntax, culture-invariant: NaN, +Inf, -Inf; integral values below 2^63 as plain
    /// integers (no exponent, exact); anything else as the shortest round-trip form.
    /// </summary>
    private void WriteValue(double value)
    {
        if (double.IsNaN(value))
        {
            WriteAscii("NaN");
        }
        else if (double.IsPositiveInfinity(value))
        {
            WriteAscii("+Inf");
        }
        else if (double.IsNegativeInfinity(value))
        {
            WriteAscii("-Inf");
        }
        else if (Math.Abs(value) < 9.2e18 && value == Math.Floor(value))
        {
            var span = _output.GetSpan(24);
            ((long)value).TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
            _output.Advance(written);
        }
        else
        {
            var span = _output.GetSpan(32);
            value.TryFormat(span, out var written, "R", CultureInfo.InvariantCulture);
            _output.Advance(written);
        }
    }

    private void WriteFormatted(ulong value)
    {
        var span = _output.GetSpan(24);
        value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
        _output.Advance(written);
    }

    private void WriteEscaped(ReadOnlySpan<char> text, SearchValues<char> specials)
    {
        while (!text.IsEmpty)
        {
            var index = text.IndexOfAny(specials);
            if (index < 0)
            {
                WriteUtf8(text);
                return;
            }

            WriteUtf8(text[..index]);
            WriteAscii(text[index] switch
            {
                '\n' => "\\n",
                '"' => "\\\"",
                _ => "\\\\",
            });
            text = text[(index + 1)..];
        }
    }

    /// <summary>UTF-8 of arbitrary text; unpaired surrogates become U+FFFD, so the output is always valid UTF-8.</summary>
    private void WriteUtf8(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        var span = _output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        _output.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    /// <summary>Text known to be ASCII: names (validated) and format punctuation.</summary>
    private void WriteAscii(string text)
    {
        var span = _output.GetSpan(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            span[i] = (byte)text[i];
        }

        _output.Advance(text.Length);
    }

    private void WriteByte(byte value)
    {
        _output.GetSpan(1)[0] = value;
        _output.Advance(1);
    }
}
