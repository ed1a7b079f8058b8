using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.Extensions.Primitives;

namespace CSharpHop;

/// <summary>
/// Forwards each request to one HTTP/1.1 server on a Unix socket and streams the answer back.
/// Deliberately no more than a reverse proxy must do (drop hop-by-hop headers, stream both bodies),
/// so that the gap to Isola is Isola's own work.
/// </summary>
internal sealed class UnixSocketForwarder
{
    private static readonly HashSet<string> HopByHopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Transfer-Encoding", "Upgrade", "Host",
    };

    // HttpMessageInvoker is HttpClient's base: the same SocketsHttpHandler pipeline without the
    // per-request timeout and buffering that HttpClient layers on top (a forwarder streams).
    private readonly HttpMessageInvoker _client;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _fixedHeaders;

    public UnixSocketForwarder(string socketPath, IReadOnlyList<KeyValuePair<string, string>> fixedHeaders)
    {
        _fixedHeaders = fixedHeaders;
        var endpoint = new UnixDomainSocketEndPoint(socketPath);
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(endpoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        });
    }

    public async Task ForwardAsync(HttpContext context)
    {
        var request = context.Request;
        var cancellationToken = context.RequestAborted;
        // The authority is never used for routing: ConnectCallback always dials the socket.
        using var outgoing = new HttpRequestMessage(
            HttpMethod.Parse(request.Method),
            new Uri("http://localhost" + request.PathBase + request.Path + request.QueryString));

        if (request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            outgoing.Content = new StreamContent(request.Body);
        }

        foreach (var (name, values) in request.Headers)
        {
            if (!HopByHopHeaders.Contains(name) && !outgoing.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                outgoing.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        foreach (var (name, value) in _fixedHeaders)
        {
            outgoing.Headers.TryAddWithoutValidation(name, value);
        }

        HttpResponseMessage upstream;
        try
        {
            upstream = await _client.SendAsync(outgoing, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            context.Response.StatusCode = StatusCodes.Status502BadGateway;
            await context.Response.WriteAsync("upstream unreachable: " + ex.Message, cancellationToken);
            return;
        }

        using (upstream)
        {
            var response = context.Response;
            response.StatusCode = (int)upstream.StatusCode;
            CopyHeaders(upstream.Headers.NonValidated, response.Headers);
            CopyHeaders(upstream.Content.Headers.NonValidated, response.Headers);
            await using var body = await upstream.Content.ReadAsStreamAsync(cancellationToken);
            await body.CopyToAsync(response.Body, cancellationToken);
        }
    }

    // NonValidated: the hop passes values through as received, so parsing them would be wasted work.
    private static void CopyHeaders(HttpHeadersNonValidated from, IHeaderDictionary to)
    {
        foreach (var (name, values) in from)
        {
            if (!HopByHopHeaders.Contains(name))
            {
                to[name] = values.Count == 1 ? new StringValues(values.ToString()) : new StringValues(values.ToArray());
            }
        }
    }
}
