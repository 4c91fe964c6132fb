using System.Text;

namespace Fleet.Rpc.Protocol;

/// <summary>Converts between <see cref="Metadata"/> and HTTP header values.</summary>
internal static class MetadataHeaders
{
    /// <summary>The header value for an entry: unpadded base64 for binary entries, as the spec recommends.</summary>
    public static string ToHeaderValue(Metadata.Entry entry) =>
        entry.IsBinary ? Convert.ToBase64String(entry.ValueBytes).TrimEnd('=') : entry.Value;

    /// <summary>Builds an entry from a received header; binary values are accepted padded or not.</summary>
    public static Metadata.Entry? FromHeader(string name, string value)
    {
        var key = name.ToLowerInvariant();
        if (GrpcProtocol.IsReservedHeader(key))
        {
            return null;
        }

        try
        {
            if (Metadata.IsBinaryKey(key))
            {
                return new Metadata.Entry(key, DecodeBase64(value));
            }

            return new Metadata.Entry(key, value);
        }
        catch (ArgumentException)
        {
            // A header that is not valid metadata (odd characters) is not the application's business.
            return null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public static void AddHeaderValues(Metadata metadata, string name, IEnumerable<string?> values)
    {
        foreach (var value in values)
        {
            if (value is null)
            {
                continue;
            }

            // Several binary values may be folded into one header, comma-separated.
            if (Metadata.IsBinaryKey(name) && value.Contains(',', StringComparison.Ordinal))
            {
                foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    if (FromHeader(name, part) is { } e)
                    {
                        metadata.Add(e);
                    }
                }
            }
            else if (FromHeader(name, value) is { } entry)
            {
                metadata.Add(entry);
            }
        }
    }

    private static byte[] DecodeBase64(string value)
    {
        var trimmed = value.Trim();
        var padding = (4 - trimmed.Length % 4) % 4;
        if (padding == 3)
        {
            throw new FormatException("Invalid base64 length.");
        }

        var sb = new StringBuilder(trimmed, trimmed.Length + padding);
        sb.Append('=', padding);
        return Convert.FromBase64String(sb.ToString());
    }
}
