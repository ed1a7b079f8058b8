using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Apps;
using Isola.Host.Auth;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Invocations;

namespace Isola.Host.TypedFunctions;

/// <summary>
/// Calls a typed function (R1) by name, free of HTTP: over <c>/api/fn</c>, from another function (ctx.runQuery,
/// ctx.runMutation) and for live queries. The arguments travel as an <c>rpc</c> payload; the worker's runtime checks
/// them, runs the handler in its transaction and answers with the value or an error (runtime/PROTOCOL.md, "Typed
/// functions"), which <see cref="TypedOutcome"/> sorts out.
/// </summary>
internal sealed class TypedCaller(DeployedFunctionCache registry, FunctionInvoker invoker, Data.AppDatabases.DataOptions data)
{
    /// <summary>How deep ctx.runQuery / ctx.runMutation may nest (each call one level).</summary>
    public const int MaxCallDepth = 8;

    /// <summary>
    /// The typed function <paramref name="name"/> of the app. <c>FUNCTION_NOT_FOUND</c> when there is none, when it is
    /// a plain function (named, so the caller knows where to call it), or, unless <paramref name="fromFunction"/>, when it is internal.
    /// </summary>
    public async Task<DeployedFunction> FindAsync(string appId, string name, bool fromFunction, CancellationToken cancellationToken)
    {
        var function = await registry.FindAsync(appId, name, cancellationToken);
        if (function is null || (function.Settings.Internal && !fromFunction))
        {
            throw IsolaException.NotFound(ErrorCodes.FunctionNotFound, $"app '{appId}' has no typed function '{name}'");
        }

        if (function.Settings.Typed is null)
        {
            throw IsolaException.NotFound(ErrorCodes.FunctionNotFound, function.Settings.Internal
                ? $"'{name}' is not a typed function (query, mutation or action)"
                : $"'{name}' is not a typed function (query, mutation or action); call it at /v1/{appId}/fn/{name}");
        }

        return function;
    }

    /// <summary>Runs the function with <paramref name="args"/> as <paramref name="caller"/>; never throws for what the function did.</summary>
    /// <param name="callDepth">0 for a call from a client; one more than the calling invocation's for ctx.runQuery / ctx.runMutation.</param>
    /// <param name="emitDepth">The chain depth of what it emits: the calling invocation's, for ctx.runQuery / ctx.runMutation.</param>
    /// <param name="trackReads">A live query's run: the tables its statements read are noted under the invocation id.</param>
    public async Task<TypedOutcome> CallAsync(DeployedFunction function, Caller caller, JsonNode? args, CancellationToken cancellationToken,
        int callDepth = 0, DateTimeOffset? deadline = null, bool trackReads = false, string? invocationId = null, int emitDepth = 0)
    {
        var payload = new JsonObject { ["type"] = TriggerKind.Rpc.Name(), ["args"] = args ?? new JsonObject() };
        if (trackReads)
        {
            payload["track"] = true;
        }

        var outcome = await invoker.InvokeAsync(new TriggerInvocation(function, caller, TriggerKind.Rpc, payload, deadline, invocationId,
            emitDepth, callDepth, (int)Math.Min(data.MaxResultBytes, int.MaxValue)), cancellationToken);
        return new TypedOutcome(function, outcome);
    }

    /// <summary>
    /// The argument object of a request body: empty means none. Anything but a JSON object is INVALID_ARGS, like any
    /// argument the function's validators refuse.
    /// </summary>
    public static JsonObject ParseArgs(ReadOnlyMemory<byte> body)
    {
        if (body.Span.Trim(" \t\r\n"u8).IsEmpty)
        {
            return [];
        }

        JsonElement element;
        try
        {
            element = Api.JsonBody.Parse(body, "the body");
        }
        catch (IsolaException ex)
        {
            throw new IsolaException(ErrorKind.Invalid, ErrorCodes.InvalidArgs, $"args: {ex.Message}; send a JSON object of arguments") { Field = "args" };
        }

        return element.ValueKind == JsonValueKind.Object
            ? JsonObject.Create(element)!
            : throw new IsolaException(ErrorKind.Invalid, ErrorCodes.InvalidArgs, $"args: expected object, got {element.ValueKind.ToString().ToLowerInvariant()}") { Field = "args" };
    }
}
