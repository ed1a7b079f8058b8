using System.Net.Http.Json;
using System.Net.Sockets;

namespace Isola.Host.Workers;

/// <summary>
/// The host's HTTP/1.1 client to one worker's <c>worker.sock</c>: the invoker invocations go through, and the
/// control calls of runtime/PROTOCOL.md (load, health, shutdown). Knows the protocol's paths, not the process.
/// </summary>
internal sealed class WorkerControlClient : IDisposable
{
    private readonly HttpClient _client;

    public WorkerControlClient(string socketPath)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(10),
            // The invocation envelope carries tracing; no headers the function did not ask for.
            ActivityHeadersPropagator = null,
        };
        _client = new HttpClient(handler, disposeHandler: false) { BaseAddress = new Uri("http://worker/"), Timeout = Timeout.InfiniteTimeSpan };
        Invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    /// <summary>Sends invocations: no per-request timeout or header validation of <see cref="HttpClient"/>.</summary>
    public HttpMessageInvoker Invoker { get; }

    /// <summary><c>POST /__isola/load</c>; a non-success answer's body says why the function did not load.</summary>
    public Task<HttpResponseMessage> LoadAsync(WorkerLoadRequest request, CancellationToken cancellationToken) =>
        _client.PostAsJsonAsync(WorkerProtocol.LoadPath, request, WorkerJson.Options, cancellationToken);

    /// <summary><c>GET /__isola/health</c>: whether the worker's event loop answers within <paramref name="timeout"/>.</summary>
    public async Task<bool> IsResponsiveAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            using var response = await _client.GetAsync(WorkerProtocol.HealthPath, deadline.Token);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary><c>POST /__isola/shutdown</c>: beforeunload and pending background work, bounded by <paramref name="grace"/>.</summary>
    public async Task ShutdownAsync(string reason, TimeSpan grace)
    {
        try
        {
            using var deadline = new CancellationTokenSource(grace + TimeSpan.FromSeconds(1));
            using var _ = await _client.PostAsJsonAsync(WorkerProtocol.ShutdownPath, new { reason, graceMs = (int)grace.TotalMilliseconds }, deadline.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or ObjectDisposedException)
        {
            // Unresponsive, already gone, or disposed meanwhile: the caller kills the process either way.
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        Invoker.Dispose();
    }
}
