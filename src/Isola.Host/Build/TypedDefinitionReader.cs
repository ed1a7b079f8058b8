using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Workers;

namespace Isola.Host.Build;

/// <summary>
/// Reads a typed function's definition at deploy (R1): when the build imported <c>@isola/functions</c>, the bundle is
/// loaded once in a sandboxed worker, whose runtime answers with the default export's kind, auth mode, internal flag
/// and argument schema (decision 023). The definition decides the function's auth mode and whether it is internal;
/// code that does not load fails the deploy (422) instead of every later call.
/// </summary>
internal sealed class TypedDefinitionReader(WorkerSupervisor supervisor, Secrets.AppSecrets appSecrets)
{
    /// <summary>The settings to store: <paramref name="settings"/> with the definition applied, or unchanged for a plain function.</summary>
    public async Task<FunctionSettings> ApplyAsync(string appId, string name, FunctionSource source, BuildArtifact artifact, FunctionSettings settings,
        IReadOnlyDictionary<string, string> env, CancellationToken cancellationToken)
    {
        if (!artifact.UsesFunctionsModule)
        {
            return settings with { Typed = null };
        }

        // The env the version's workers will have: the app's secrets, its own env vars over them.
        var loadEnv = await appSecrets.OpenAllAsync(appId, cancellationToken);
        foreach (var (key, value) in env)
        {
            loadEnv[key] = value;
        }

        JsonElement answer;
        try
        {
            answer = await supervisor.DescribeAsync(appId, name, source, artifact.Content, loadEnv, cancellationToken);
        }
        catch (WorkerBootException ex)
        {
            throw FunctionBuilder.BuildFailed($"the module was loaded to read its definition and {ex.Message.Replace("the function failed to load: ", "failed: ", StringComparison.Ordinal)}");
        }

        if (answer.ValueKind != JsonValueKind.Object || !answer.TryGetProperty("typed", out var typed) || typed.ValueKind != JsonValueKind.Object)
        {
            return settings with { Typed = null }; // It imports the module (for v, say) but exports a plain handler.
        }

        var kind = typed.GetProperty("kind").GetString();
        if (kind is null || !TypedDefinition.Kinds.Contains(kind))
        {
            throw FunctionBuilder.BuildFailed($"the module's default export is of an unknown kind '{kind}'");
        }

        var triggers = settings.Triggers.Where(trigger => trigger.Type != TriggerSpec.Http).Select(trigger => trigger.Type).ToList();
        if (triggers.Count > 0)
        {
            throw IsolaException.InvalidField("triggers", $"do not apply to a typed function ({kind}): it is called by name (POST /v1/{appId}/api/fn/{name}, " +
                $"ctx.runQuery, ctx.runMutation, ctx.scheduler, live queries), not by a {string.Join(" or ", triggers.Distinct())} trigger");
        }

        var auth = typed.TryGetProperty("auth", out var declared) && declared.ValueKind == JsonValueKind.String ? declared.GetString()! : "user";
        return settings with
        {
            Typed = new TypedDefinition(kind, SchemaOf(typed, "args"), SchemaOf(typed, "returns")),
            Auth = auth,
            Internal = typed.TryGetProperty("internal", out var @internal) && @internal.ValueKind == JsonValueKind.True,
            Triggers = [TriggerSpec.HttpTrigger],
        };
    }

    private static JsonNode? SchemaOf(JsonElement typed, string property) =>
        typed.TryGetProperty(property, out var schema) && schema.ValueKind == JsonValueKind.Object ? JsonNode.Parse(schema.GetRawText()) : null;
}
