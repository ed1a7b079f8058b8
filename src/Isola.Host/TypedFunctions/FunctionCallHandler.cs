using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Auth;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Workers.Calls;

namespace Isola.Host.TypedFunctions;

/// <summary>
/// <c>ctx.runQuery(name, args)</c> and <c>ctx.runMutation(name, args)</c> on the host: the named typed function of the
/// same app (internal ones included) runs as the calling invocation's caller, under its own auth mode unless it is
/// internal, in its own invocation (a mutation: its own transaction), within what is left of the caller's deadline.
/// </summary>
/// <remarks>The caller is resolved on first use: invoking runs through the worker supervisor, which holds the handlers.</remarks>
internal sealed class FunctionCallHandler(Lazy<TypedCaller> caller, TimeProvider time) : IHostCallHandler
{
    public string Family => "functions";

    public async ValueTask<JsonNode?> HandleAsync(HostCall call, CancellationToken cancellationToken)
    {
        if (call.Op != "functions.run")
        {
            throw new HostCallException(ErrorCodes.UnknownCall, $"the host does not serve '{call.Op}'");
        }

        var typed = caller.Value;
        var args = call.Args;
        var name = args.ValueKind == JsonValueKind.Object && args.TryGetProperty("name", out var nameElement) && nameElement.ValueKind == JsonValueKind.String
            ? nameElement.GetString()!
            : throw new HostCallException(ErrorCodes.InvalidArgs, "ctx.runQuery / ctx.runMutation need the function's name as a string");
        var kind = args.TryGetProperty("kind", out var kindElement) && kindElement.ValueKind == JsonValueKind.String ? kindElement.GetString() : null;
        if (call.Grant.CallDepth + 1 > TypedCaller.MaxCallDepth)
        {
            throw new HostCallException(ErrorCodes.CallTooDeep, $"'{name}' would be the {TypedCaller.MaxCallDepth + 1}th typed call in a chain (the limit is {TypedCaller.MaxCallDepth}): do functions call each other in a loop?");
        }

        DeployedFunction function;
        try
        {
            function = await typed.FindAsync(call.Grant.AppId, name, fromFunction: true, cancellationToken);
            if (function.Settings.Typed!.Kind != kind)
            {
                throw new HostCallException(ErrorCodes.InvalidArgs, $"'{name}' is a {function.Settings.Typed.Kind}: call it with ctx.run{Capitalized(function.Settings.Typed.Kind)}");
            }

            // An internal function inherits its caller's context; any other keeps its own auth mode.
            if (!function.Settings.Internal)
            {
                AccessPolicy.Require(function.Settings, call.Grant.Caller, function.Name);
            }
        }
        catch (IsolaException ex)
        {
            throw new HostCallException(ex.Code, ex.Message);
        }

        var own = time.GetUtcNow().AddMilliseconds(function.Settings.TimeoutMs);
        var callArgs = args.TryGetProperty("args", out var argsElement) && argsElement.ValueKind != JsonValueKind.Null ? JsonNode.Parse(argsElement.GetRawText()) : new JsonObject();
        var outcome = await typed.CallAsync(function, call.Grant.Caller, callArgs, cancellationToken, call.Grant.CallDepth + 1,
            deadline: own < call.Grant.Deadline ? own : call.Grant.Deadline, emitDepth: call.Grant.EmitDepth);
        if (outcome.IsValue)
        {
            return new JsonObject { ["value"] = outcome.Body.Length == 0 ? null : JsonNode.Parse(outcome.Body) };
        }

        if (outcome.IsFunctionError)
        {
            var (code, message) = outcome.FunctionError();
            throw new HostCallException(code, message, new JsonObject { ["functionError"] = true });
        }

        var (platformCode, platformMessage) = outcome.PlatformError();
        throw new HostCallException(platformCode, $"{name}: {platformMessage}", outcome.Invocation.ErrorField is { } field ? new JsonObject { ["field"] = field } : null);
    }

    private static string Capitalized(string kind) => char.ToUpperInvariant(kind[0]) + kind[1..];
}
