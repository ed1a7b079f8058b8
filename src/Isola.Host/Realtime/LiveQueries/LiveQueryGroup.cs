using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Auth;

namespace Isola.Host.Realtime.LiveQueries;

/// <summary>
/// Every subscription to one query with the same arguments by the same caller: they share one run and one value.
/// Subscribers change under the registry's lock; the run state under the group's own.
/// </summary>
internal sealed class LiveQueryGroup(string key, string appId, string functionName, JsonObject args, Caller caller)
{
    public string Key => key;

    public string AppId => appId;

    public string FunctionName => functionName;

    public JsonObject Args => args;

    /// <summary>Whom the query runs as: the subscriber, so row-level security shows it what that caller may see.</summary>
    public Caller Caller => caller;

    public List<(RealtimeConnection Connection, JsonElement Id)> Subscribers { get; } = [];

    /// <summary>The last value pushed (JSON), or null before the first, or after an error.</summary>
    public byte[]? Value { get; set; }

    /// <summary>The last error pushed, so a run that fails the same way again pushes nothing.</summary>
    public (string Code, string Message)? Error { get; set; }

    /// <summary>The tables (<c>schema.table</c>) the last successful run read: a commit that changes one runs the query again.</summary>
    public IReadOnlySet<string> Reads { get; set; } = new HashSet<string>();

    public bool Running { get; set; }

    /// <summary>A change arrived while the query ran (or before it first ran): run it again.</summary>
    public bool Dirty { get; set; }

    /// <summary>The last subscriber left; a run in progress ends without pushing.</summary>
    public bool Closed { get; set; }
}
