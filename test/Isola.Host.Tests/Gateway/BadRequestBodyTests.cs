using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Gateway;

/// <summary>A request body the gateway cannot read is the caller's fault: 400 from the gateway, not a 502 blamed on a worker.</summary>
public sealed class BadRequestBodyTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private TestHost Host => fixture.Host;

    [Theory]
    [InlineData("bare-lf", "5\nhello\n0\n\n")] // bare LF everywhere
    [InlineData("bare-lf-after-data", "5\r\nhello\n0\r\n\r\n")] // bare LF after a chunk's data
    [InlineData("not-hex", "zz\r\nhello\r\n0\r\n\r\n")] // a chunk size that is not hex
    public async Task A_chunked_body_with_broken_framing_is_400_INVALID_REQUEST_and_the_worker_is_fine(string name, string chunkedBody)
    {
        await fixture.DeployFixtureAsync(name, "gateway/limits/index.ts");
        Assert.Equal(HttpStatusCode.OK, (await Host.Caller.GetAsync($"/v1/default/fn/{name}/")).StatusCode);

        var (status, headers, body) = await SendRawAsync(
            $"POST /v1/default/fn/{name}/upload HTTP/1.1\r\n" +
            $"Host: {Host.Url.Authority}\r\n" +
            $"Authorization: Bearer {Host.AnonKey}\r\n" +
            "Content-Type: application/octet-stream\r\n" +
            "Transfer-Encoding: chunked\r\n" +
            "Connection: close\r\n\r\n" +
            chunkedBody);

        Assert.True(status == 400, $"expected 400, got {status}: {body}");
        Assert.Contains("x-isola-error-code: INVALID_REQUEST", headers, StringComparison.OrdinalIgnoreCase);
        using var json = JsonDocument.Parse(body);
        Assert.Equal("INVALID_REQUEST", json.RootElement.GetProperty("error").GetProperty("code").GetString());
        // Kestrel's own chunked parser is what refuses it (its message is passed on); the forward to the worker only carries the failure.
        Assert.Contains("chunk", json.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.OrdinalIgnoreCase);

        // No worker was blamed or lost: the same function answers at once.
        Assert.Equal(HttpStatusCode.OK, (await Host.Caller.GetAsync($"/v1/default/fn/{name}/")).StatusCode);
    }

    /// <summary>Sends bytes HttpClient would never produce, and reads the answer until the server closes.</summary>
    private async Task<(int Status, string Headers, string Body)> SendRawAsync(string request)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, Host.Url.Port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), timeout.Token);
        using var received = new MemoryStream();
        await stream.CopyToAsync(received, timeout.Token);
        var text = Encoding.UTF8.GetString(received.ToArray());
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(split > 0, "no response head: " + text);
        var head = text[..split];
        var status = int.Parse(head.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var body = text[(split + 4)..];
        if (head.Contains("transfer-encoding: chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Unchunk(body);
        }

        return (status, head, body);
    }

    private static string Unchunk(string chunked)
    {
        var result = new StringBuilder();
        var position = 0;
        while (true)
        {
            var lineEnd = chunked.IndexOf("\r\n", position, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[position..lineEnd], 16);
            if (size == 0)
            {
                return result.ToString();
            }

            result.Append(chunked, lineEnd + 2, size);
            position = lineEnd + 2 + size + 2;
        }
    }
}
