using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Errors;

namespace Isola.Host.Workers.Calls;

/// <summary>
/// Checks a call's capability and hands it to the handler of its op family. The only place that
/// decides whether a call from a worker is allowed at all.
/// </summary>
internal sealed class HostCallDispatcher(InvocationCapabilities capabilities, IEnumerable<IHostCallHandler> handlers)
{
    private readonly Dictionary<string, IHostCallHandler> _handlers = handlers.ToDictionary(h => h.Family, StringComparer.Ordinal);

    public InvocationCapabilities Capabilities => capabilities;

    public async ValueTask<JsonNode?> DispatchAsync(string op, JsonElement args, string? capability, string workerId, CancellationToken cancellationToken)
    {
        var grant = capabilities.Find(capability, workerId, out var refusal)
            ?? throw new HostCallException(ErrorCodes.CapabilityRefused, $"'{op}' refused: {refusal}");
        if (op == "invocation.whoami")
        {
            // The runtime's own check of the channel: which invocation a capability stands for.
            return new JsonObject { ["invocationId"] = grant.InvocationId, ["app"] = grant.AppId, ["function"] = grant.FunctionName, ["caller"] = grant.Caller.Kind };
        }

        var dot = op.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || !_handlers.TryGetValue(op[..dot], out var handler))
        {
            throw new HostCallException(ErrorCodes.UnknownCall, $"the host does not serve '{op}'");
        }

        return await handler.HandleAsync(new HostCall(op, args, grant, capability!), cancellationToken);
    }
}
