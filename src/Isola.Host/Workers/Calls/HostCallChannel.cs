using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Errors;
using Isola.Host.Hosting;
using Isola.Host.Observability;
using Isola.Host.Workers;

namespace Isola.Host.Workers.Calls;

/// <summary>
/// The worker → host direction of the protocol: a Unix socket in the worker's own folder
/// (<c>host.sock</c>) on which the runtime sends newline-delimited JSON calls, each carrying its
/// invocation's capability, and gets one answer per call (runtime/PROTOCOL.md, "Calls"). Calls are
/// answered concurrently, at most <see cref="HostCallOptions.MaxConcurrentCallsPerWorker"/> at once (calls inside an open
/// transaction aside, which are bounded by the transactions one invocation may hold),
/// so one hot function cannot take every database connection.
/// </summary>
internal sealed partial class HostCallChannel : IAsyncDisposable
{
    public const string SocketName = WorkerProtocol.HostSocket;

    private readonly Socket _listener;
    private readonly string _workerId;
    private readonly HostCallDispatcher _dispatcher;
    private readonly SemaphoreSlim _concurrency;
    private readonly HostCallOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _closing = new();
    private int _connections;

    private HostCallChannel(Socket listener, string workerId, HostCallDispatcher dispatcher, HostCallOptions options, ILogger logger)
    {
        _listener = listener;
        _workerId = workerId;
        _dispatcher = dispatcher;
        _options = options;
        _logger = logger;
        _concurrency = new SemaphoreSlim(options.MaxConcurrentCallsPerWorker);
    }

    /// <summary>Listens on <c>host.sock</c> in <paramref name="workerDirectory"/>, owned by the worker's user when it has one.</summary>
    public static HostCallChannel Listen(string workerDirectory, string workerId, (uint Uid, uint Gid)? owner, HostCallDispatcher dispatcher,
        HostCallOptions options, ILogger logger)
    {
        var path = Path.Combine(workerDirectory, SocketName);
        File.Delete(path);
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(4);
            // Only the worker's own user may connect (Deno needs write access to a socket to connect to it).
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            if (owner is { } user)
            {
                UnixUser.Chown(path, user.Uid, user.Gid);
            }
        }
        catch
        {
            listener.Dispose();
            throw;
        }

        var channel = new HostCallChannel(listener, workerId, dispatcher, options, logger);
        _ = channel.AcceptLoopAsync();
        return channel;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_closing.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_closing.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            // The runtime keeps one connection; a few more are tolerated, never an unbounded number.
            if (Interlocked.Increment(ref _connections) > 4)
            {
                Interlocked.Decrement(ref _connections);
                socket.Dispose();
                continue;
            }

            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        await using var stream = new NetworkStream(socket, ownsSocket: true);
        var reader = PipeReader.Create(stream);
        var writeLock = new SemaphoreSlim(1, 1);
        var pending = new List<Task>();
        try
        {
            while (!_closing.IsCancellationRequested)
            {
                var read = await reader.ReadAsync(_closing.Token);
                var buffer = read.Buffer;
                while (TryReadLine(ref buffer, out var line))
                {
                    var frame = line.IsSingleSegment ? line.FirstSpan.ToArray() : line.ToArray();
                    pending.RemoveAll(t => t.IsCompleted);
                    pending.Add(HandleFrameAsync(frame, stream, writeLock));
                }

                if (buffer.Length > _options.MaxFrameBytes)
                {
                    LogFrameTooLarge(_logger, _workerId, _options.MaxFrameBytes);
                    return;
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (read.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
            // The worker went away or the channel is closing: nothing left to answer.
        }
        finally
        {
            await reader.CompleteAsync();
            await Task.WhenAll(pending).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Interlocked.Decrement(ref _connections);
        }
    }

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> line)
    {
        var newline = buffer.PositionOf((byte)'\n');
        if (newline is null)
        {
            line = default;
            return false;
        }

        line = buffer.Slice(0, newline.Value);
        buffer = buffer.Slice(buffer.GetPosition(1, newline.Value));
        return true;
    }

    private async Task HandleFrameAsync(byte[] frame, Stream stream, SemaphoreSlim writeLock)
    {
        long id = 0;
        JsonObject answer;
        try
        {
            using var document = JsonDocument.Parse(frame);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("id", out var idElement) || !idElement.TryGetInt64(out id)
                || !root.TryGetProperty("op", out var opElement) || opElement.ValueKind != JsonValueKind.String)
            {
                throw new HostCallException(ErrorCodes.BadCall, "a call needs a numeric 'id' and a string 'op'");
            }

            var op = opElement.GetString()!;
            var args = root.TryGetProperty("args", out var argsElement) ? argsElement.Clone() : default;
            if (op == "release")
            {
                // Fire and forget from the runtime (id 0): the invocations whose response and waitUntil work are done.
                Release(args);
                if (id == 0)
                {
                    return;
                }

                answer = Ok(id, null);
            }
            else
            {
                var token = root.TryGetProperty("cap", out var capElement) && capElement.ValueKind == JsonValueKind.String ? capElement.GetString() : null;
                // A call inside an open transaction (and its COMMIT or ROLLBACK) never waits for a turn: the calls
                // holding every turn may be blocked on that transaction's locks, which only its next call can release.
                var bounded = !InOpenTransaction(args);
                if (bounded)
                {
                    await _concurrency.WaitAsync(_closing.Token);
                }

                try
                {
                    answer = Ok(id, await _dispatcher.DispatchAsync(op, args, token, _workerId, _closing.Token));
                }
                finally
                {
                    if (bounded)
                    {
                        _concurrency.Release();
                    }
                }
            }
        }
        catch (HostCallException ex)
        {
            answer = Error(id, ex.Code, ex.Message, ex.Details);
        }
        catch (JsonException)
        {
            answer = Error(id, ErrorCodes.BadCall, "the call is not valid JSON");
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (Exception ex)
        {
            // A bug in a handler must not kill the channel or leak internals to the function.
            LogHandlerFailed(_logger, _workerId, ex);
            answer = Error(id, ErrorCodes.HostError, "the host failed to answer this call; see the node's log");
        }

        // One write per answer, newline included: two would wake the runtime's reader twice.
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            answer.WriteTo(writer);
        }

        buffer.Write("\n"u8);
        await writeLock.WaitAsync();
        try
        {
            await stream.WriteAsync(buffer.WrittenMemory);
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            writeLock.Release();
        }
    }

    private static bool InOpenTransaction(JsonElement args) =>
        args.ValueKind == JsonValueKind.Object && args.TryGetProperty("tx", out var tx) && tx.ValueKind == JsonValueKind.String;

    private void Release(JsonElement args)
    {
        if (args.ValueKind == JsonValueKind.Object && args.TryGetProperty("caps", out var caps) && caps.ValueKind == JsonValueKind.Array)
        {
            foreach (var cap in caps.EnumerateArray())
            {
                if (cap.ValueKind == JsonValueKind.String)
                {
                    _dispatcher.Capabilities.Release(cap.GetString()!, _workerId);
                }
            }
        }
    }

    private static JsonObject Ok(long id, JsonNode? value) => new() { ["id"] = id, ["ok"] = true, ["value"] = value };

    private static JsonObject Error(long id, string code, string message, JsonObject? details = null)
    {
        var error = new JsonObject { ["code"] = code, ["message"] = message };
        if (details is not null)
        {
            foreach (var (key, value) in details)
            {
                error[key] = value?.DeepClone();
            }
        }

        return new JsonObject { ["id"] = id, ["ok"] = false, ["error"] = error };
    }

    /// <summary>Ends every capability of this worker's invocations (the process ended).</summary>
    public void ReleaseGrants() => _dispatcher.Capabilities.ReleaseWorker(_workerId);

    public ValueTask DisposeAsync()
    {
        ReleaseGrants();
        // Cancelled, never disposed: connection loops may still read its token while they unwind.
        _closing.Cancel();
        _listener.Dispose();
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = LogEvents.HostCallFrameTooLarge, Level = LogLevel.Warning, Message = "Worker {Worker} sent a call frame over {Limit} bytes; its call channel was closed")]
    private static partial void LogFrameTooLarge(ILogger logger, string worker, int limit);

    [LoggerMessage(EventId = LogEvents.HostCallFailed, Level = LogLevel.Error, Message = "A host call from worker {Worker} failed")]
    private static partial void LogHandlerFailed(ILogger logger, string worker, Exception exception);
}
