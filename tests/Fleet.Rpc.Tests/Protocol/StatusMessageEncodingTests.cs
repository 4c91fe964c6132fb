using Fleet.Rpc.Protocol;

namespace Fleet.Rpc.Tests.Protocol;

public sealed class StatusMessageEncodingTests
{
    [Theory]
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("100%", "100%25")]
    [InlineData("line\nbreak", "line%0Abreak")]
    [InlineData("ü", "%C3%BC")]
    public void Encode_FollowsTheSpecification(string message, string expected) =>
        Assert.Equal(expected, StatusMessageEncoding.Encode(message));

    [Theory]
    [InlineData("no such node: ünïcode ✓ 100%")]
    [InlineData("tab\tand\r\nnewlines")]
    [InlineData("")]
    public void RoundTrip_IsLossless(string message) =>
        Assert.Equal(message, StatusMessageEncoding.Decode(StatusMessageEncoding.Encode(message)));

    [Theory]
    [InlineData("%", "%")]
    [InlineData("%G1", "%G1")]
    [InlineData("50%2", "50%2")]
    public void Decode_KeepsMalformedEscapes(string value, string expected) =>
        Assert.Equal(expected, StatusMessageEncoding.Decode(value));
}
