using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Data.FunctionDb;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Invocations;
using Isola.Host.Observability;
using Isola.Host.TypedFunctions;

namespace Isola.Host.Realtime.LiveQueries;

/// <summary>
/// Live queries (R5) on the realtime socket: <c>{"type":"subscribe","id","fn","args"}</c> runs the typed query as the
/// subscriber and sends <c>{"type":"result","id","value"}</c>; a commit (on any node) that changes a table the query
/// read runs it again, and the value is sent again only when it differs. Identical subscriptions (same query, arguments
/// and caller) share one group: one run, one value, many subscribers (decision 024).
/// </summary>
internal sealed partial class LiveQueryRegistry
{
    private static readonly TimeSpan ListenWait = TimeSpan.FromSeconds(10);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, LiveQueryGroup> _groups = new(StringComparer.Ordinal);
    private readonly TypedCaller _typed;
    private readonly ReadSets _reads;
    private readonly AppChangeListener _listener;
    private readonly ChangeTriggers _triggers;
    private readonly RealtimeOptions _options;
    private readonly CancellationToken _stopping;
    private readonly ILogger<LiveQueryRegistry> _logger;

    public LiveQueryRegistry(TypedCaller typed, ReadSets reads, AppChangeListener listener, ChangeTriggers triggers, FunctionChanges changes,
        RealtimeOptions options, IHostApplicationLifetime lifetime, ILogger<LiveQueryRegistry> logger)
    {
        _typed = typed;
        _reads = reads;
        _listener = listener;
        _triggers = triggers;
        _options = options;
        _stopping = lifetime.ApplicationStopping;
        _logger = logger;
        listener.Changed += (app, table) => RunWhere(group => group.AppId == app && group.Reads.Contains(table));
        listener.Missed += app => RunWhere(group => group.AppId == app);
        // A redeploy may change the query's code, or its auth mode: run it again under the new version.
        changes.Changed += (app, name) => RunWhere(group => group.AppId == app && group.FunctionName == name);
    }

    private long _runs;

    /// <summary>Runs of live queries this node made (tests and metrics).</summary>
    public long Runs => Interlocked.Read(ref _runs);

    /// <summary>Live groups on this node (tests and metrics).</summary>
    public int GroupCount
    {
        get
        {
            lock (_gate)
            {
                return _groups.Count;
            }
        }
    }

    public async Task SubscribeAsync(RealtimeConnection connection, JsonElement id, string functionName, JsonElement args)
    {
        Caller caller;
        try
        {
            var function = await _typed.FindAsync(connection.AppId, functionName, fromFunction: false, _stopping);
            if (function.Settings.Typed!.Kind != TypedDefinition.Query)
            {
                throw IsolaException.InvalidRequest($"'{functionName}' is a {function.Settings.Typed.Kind}; only a query can be subscribed to");
            }

            caller = AccessPolicy.Admit(function.Settings, connection.Identity, function.Name);
        }
        catch (IsolaException ex)
        {
            connection.TryEnqueue(LiveQueryFrames.Error(id, ex.Code, ex.Message));
            return;
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            connection.TryEnqueue(LiveQueryFrames.Error(id, ErrorCodes.DatabaseUnavailable, $"cannot look up '{functionName}': {ex.Message}"));
            return;
        }

        // The arguments as compact JSON; the key they make is what "identical" means.
        var argsNode = args.ValueKind == JsonValueKind.Undefined ? [] : JsonNode.Parse(args.GetRawText())!.AsObject();
        var key = string.Join('\n', connection.AppId, functionName, CallerKey(caller), argsNode.ToJsonString());
        var idKey = id.GetRawText();
        LiveQueryGroup group;
        bool created;
        byte[]? value;
        (string Code, string Message)? error;
        lock (_gate)
        {
            if (!connection.LiveQueries.ContainsKey(idKey) && connection.Channels.Count + connection.LiveQueries.Count >= _options.MaxSubscriptions)
            {
                connection.TryEnqueue(LiveQueryFrames.Error(id, ErrorCodes.InvalidRequest,
                    $"a connection may hold at most {_options.MaxSubscriptions} subscriptions (channels and live queries together)"));
                return;
            }

            if (connection.LiveQueries.Remove(idKey, out var previous))
            {
                Detach(previous, connection, idKey); // the same id again: it now means this query
            }

            created = !_groups.TryGetValue(key, out var existing);
            group = existing ?? new LiveQueryGroup(key, connection.AppId, functionName, argsNode, caller);
            _groups[key] = group;
            group.Subscribers.Add((connection, id.Clone()));
            connection.LiveQueries[idKey] = group;
            value = group.Value;
            error = group.Error;
        }

        if (value is not null)
        {
            connection.TryEnqueue(LiveQueryFrames.Result(id, value));
        }
        else if (error is { } known)
        {
            connection.TryEnqueue(LiveQueryFrames.Error(id, known.Code, known.Message));
        }

        if (created)
        {
            _ = RunAsync(group);
        }
    }

    /// <summary><c>{"type":"unsubscribe","id"}</c>: nothing more is sent for the id (the acknowledgement is the last frame).</summary>
    public void Unsubscribe(RealtimeConnection connection, JsonElement id)
    {
        var idKey = id.GetRawText();
        lock (_gate)
        {
            if (connection.LiveQueries.Remove(idKey, out var group))
            {
                Detach(group, connection, idKey);
            }
        }

        connection.TryEnqueue(LiveQueryFrames.Unsubscribed(id));
    }

    /// <summary>A connection closed: its subscriptions end.</summary>
    public void Remove(RealtimeConnection connection)
    {
        lock (_gate)
        {
            foreach (var (idKey, group) in connection.LiveQueries)
            {
                Detach(group, connection, idKey);
            }

            connection.LiveQueries.Clear();
        }
    }

    private void Detach(LiveQueryGroup group, RealtimeConnection connection, string idKey)
    {
        group.Subscribers.RemoveAll(s => s.Connection == connection && s.Id.GetRawText() == idKey);
        if (group.Subscribers.Count == 0 && _groups.Remove(group.Key))
        {
            lock (group)
            {
                group.Closed = true;
            }
        }
    }

    private void RunWhere(Func<LiveQueryGroup, bool> affected)
    {
        List<LiveQueryGroup> groups;
        lock (_gate)
        {
            groups = [.. _groups.Values.Where(affected)];
        }

        foreach (var group in groups)
        {
            _ = RunAsync(group);
        }
    }

    /// <summary>Runs the group's query until no change arrived during the last run; a change during a run only marks it dirty.</summary>
    private async Task RunAsync(LiveQueryGroup group)
    {
        lock (group)
        {
            group.Dirty = true;
            if (group.Running)
            {
                return;
            }

            group.Running = true;
        }

        while (true)
        {
            lock (group)
            {
                if (!group.Dirty || group.Closed || _stopping.IsCancellationRequested)
                {
                    group.Running = false;
                    return;
                }

                group.Dirty = false;
            }

            try
            {
                await RunOnceAsync(group);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
            }
            catch (Exception ex)
            {
                LogRunFailed(_logger, group.AppId, group.FunctionName, ex);
            }
        }
    }

    private async Task RunOnceAsync(LiveQueryGroup group)
    {
        try
        {
            // Listening first: a commit between the run's snapshot and the LISTEN would go unheard.
            await _listener.EnsureAsync(group.AppId).WaitAsync(ListenWait, _stopping);
        }
        catch (TimeoutException)
        {
            Push(group, null, (ErrorCodes.DatabaseUnavailable, $"cannot hear the changes of app '{group.AppId}' (its database does not answer); the query is not live"));
            return;
        }

        DeployedFunction function;
        try
        {
            function = await _typed.FindAsync(group.AppId, group.FunctionName, fromFunction: false, _stopping);
            AccessPolicy.Require(function.Settings, group.Caller, function.Name);
        }
        catch (IsolaException ex)
        {
            Push(group, null, (ex.Code, ex.Message)); // deleted, no longer a query, or no longer open to this caller
            return;
        }

        var invocationId = FunctionInvoker.NewInvocationId();
        var outcome = await _typed.CallAsync(function, group.Caller, group.Args.DeepClone(), _stopping, trackReads: true, invocationId: invocationId);
        var reads = _reads.Take(invocationId);
        Interlocked.Increment(ref _runs);
        if (!outcome.IsValue)
        {
            Push(group, null, outcome.IsFunctionError ? outcome.FunctionError() : outcome.PlatformError());
            return;
        }

        if (reads.Count > 0)
        {
            group.Reads = reads;
            if (await _triggers.EnsureAsync(group.AppId, reads, _stopping))
            {
                lock (group)
                {
                    group.Dirty = true; // a change before the trigger existed went unseen: run once more
                }
            }
        }

        Push(group, outcome.Body, null);
    }

    /// <summary>Sends the value (or error) to every subscriber, unless it is what they last got.</summary>
    private void Push(LiveQueryGroup group, byte[]? value, (string Code, string Message)? error)
    {
        List<(RealtimeConnection Connection, JsonElement Id)> subscribers;
        lock (_gate)
        {
            if (value is not null ? group.Value is { } last && last.AsSpan().SequenceEqual(value) : group.Error == error)
            {
                return; // unchanged: nothing is sent
            }

            group.Value = value;
            group.Error = error;
            subscribers = [.. group.Subscribers];
        }

        foreach (var (connection, id) in subscribers)
        {
            connection.TryEnqueue(value is not null ? LiveQueryFrames.Result(id, value) : LiveQueryFrames.Error(id, error!.Value.Code, error.Value.Message));
        }
    }

    /// <summary>Who a query runs as, in what row-level security can see: the token's times and id do not matter.</summary>
    private static string CallerKey(Caller caller)
    {
        var claims = caller.Claims?.DeepClone().AsObject();
        foreach (var volatileClaim in new[] { "exp", "iat", "nbf", "jti" })
        {
            claims?.Remove(volatileClaim);
        }

        return string.Join('\u001f', caller.Kind, caller.Role, caller.UserId, caller.Email, caller.IsAdmin, string.Join(',', caller.Roles), claims?.ToJsonString());
    }

    [LoggerMessage(EventId = LogEvents.LiveRunFailed, Level = LogLevel.Error, Message = "Live queries: running {Function} of app {App} failed")]
    private static partial void LogRunFailed(ILogger logger, string app, string function, Exception exception);
}
