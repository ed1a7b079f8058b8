using System.Collections.Concurrent;
using System.Net.WebSockets;

namespace Isola.Host.Realtime;

/// <summary>
/// The realtime connections of this node and their channel subscriptions. Delivers frames to local
/// connections only; <see cref="RealtimeBus"/> carries them to the other nodes. Subscriber lists are copied on
/// write, so a broadcast reads a snapshot without a lock.
/// </summary>
internal sealed class RealtimeHub
{
    private readonly ConcurrentDictionary<string, RealtimeConnection> _connections = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RealtimeConnection[]> _subscribers = new(StringComparer.Ordinal);
    private readonly Lock _subscriptionGate = new();

    public RealtimeHub(IHostApplicationLifetime lifetime)
    {
        // Before Kestrel waits for requests to end: a WebSocket would otherwise hold the stop for its whole timeout.
        lifetime.ApplicationStopping.Register(() => CloseAll(WebSocketCloseStatus.EndpointUnavailable, "the node is stopping; reconnect"));
    }

    /// <summary>Open connections on this node.</summary>
    public int Count => _connections.Count;

    public void Add(RealtimeConnection connection) => _connections[connection.Id] = connection;

    public void Remove(RealtimeConnection connection)
    {
        _connections.TryRemove(connection.Id, out _);
        lock (_subscriptionGate)
        {
            foreach (var channel in connection.Channels)
            {
                Detach(Key(connection.AppId, channel), connection);
            }

            connection.Channels.Clear();
        }
    }

    /// <summary>Subscribes the connection to an app channel; false when it already holds <paramref name="limit"/> channels.</summary>
    public bool Subscribe(RealtimeConnection connection, string channel, int limit)
    {
        lock (_subscriptionGate)
        {
            if (connection.Channels.Contains(channel))
            {
                return true;
            }

            if (connection.Channels.Count >= limit)
            {
                return false;
            }

            connection.Channels.Add(channel);
            var key = Key(connection.AppId, channel);
            _subscribers[key] = _subscribers.TryGetValue(key, out var current) ? [.. current, connection] : [connection];
            return true;
        }
    }

    public void Unsubscribe(RealtimeConnection connection, string channel)
    {
        lock (_subscriptionGate)
        {
            if (connection.Channels.Remove(channel))
            {
                Detach(Key(connection.AppId, channel), connection);
            }
        }
    }

    /// <summary>Queues the frame for every local subscriber of the app's channel; returns how many took it.</summary>
    public int DeliverToChannel(string appId, string channel, byte[] frame)
    {
        if (!_subscribers.TryGetValue(Key(appId, channel), out var subscribers))
        {
            return 0;
        }

        var delivered = 0;
        foreach (var connection in subscribers)
        {
            delivered += connection.TryEnqueue(frame) ? 1 : 0;
        }

        return delivered;
    }

    /// <summary>True when the connection is on this node: the frame was queued for it, or it is closing and drops it.</summary>
    public bool DeliverToConnection(string appId, string connectionId, byte[] frame)
    {
        // Another app's connection is treated as unknown: an app's functions reach only its own clients.
        if (!_connections.TryGetValue(connectionId, out var connection) || connection.AppId != appId)
        {
            return false;
        }

        connection.TryEnqueue(frame);
        return true;
    }

    public void CloseAll(WebSocketCloseStatus status, string reason)
    {
        foreach (var connection in _connections.Values)
        {
            connection.Close(status, reason);
        }
    }

    private void Detach(string key, RealtimeConnection connection)
    {
        if (!_subscribers.TryGetValue(key, out var current))
        {
            return;
        }

        var rest = Array.FindAll(current, c => c != connection);
        if (rest.Length == 0)
        {
            _subscribers.TryRemove(key, out _);
        }
        else
        {
            _subscribers[key] = rest;
        }
    }

    // Neither app ids nor channel names contain a newline.
    private static string Key(string appId, string channel) => appId + "\n" + channel;
}
