using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Host.Functions;

namespace Isola.Host.Api;

/// <summary>The JSON a client sees for a function: metadata, settings, env var names (never values).</summary>
internal static class FunctionView
{
    public static JsonObject Render(FunctionRecord function, string baseUrl, bool includeCode)
    {
        var settings = JsonSerializer.SerializeToNode(function.Settings, SettingsJson.Options)!.AsObject();
        var view = new JsonObject
        {
            ["id"] = function.Id.ToString(),
            ["name"] = function.Name,
            ["app"] = function.AppId,
            ["endpoint"] = !function.Settings.HasTrigger(TriggerSpec.Http) || function.Settings.Internal ? null
                : function.Settings.Typed is null ? $"{baseUrl}/v1/{function.AppId}/fn/{function.Name}"
                : $"{baseUrl}/v1/{function.AppId}/api/fn/{function.Name}", // typed: called by name with POST

            ["version"] = function.Version,
        };
        foreach (var (key, value) in settings.ToList())
        {
            settings.Remove(key);
            view[key] = value;
        }

        view["access"] = Auth.AccessPolicy.Describe(Auth.AccessPolicy.Effective(function.Settings));
        view["envVars"] = new JsonArray([.. function.EnvNames.Select(name => JsonValue.Create(name))]);
        view["artifact"] = new JsonObject { ["hash"] = function.ArtifactHash, ["size"] = function.ArtifactSize };
        view["createdAt"] = function.CreatedAt;
        view["updatedAt"] = function.UpdatedAt;
        if (includeCode && function.Source is { } source)
        {
            foreach (var (key, value) in source.ToJson().ToList())
            {
                view[key] = value?.DeepClone();
            }
        }

        return view;
    }

    public static JsonObject RenderVersion(FunctionVersionRecord version)
    {
        var view = new JsonObject
        {
            ["version"] = version.Version,
            ["current"] = version.Current,
            ["createdAt"] = version.CreatedAt,
            ["artifact"] = new JsonObject { ["hash"] = version.ArtifactHash, ["size"] = version.ArtifactSize },
            ["envVars"] = new JsonArray([.. version.EnvNames.Select(name => JsonValue.Create(name))]),
            ["settings"] = JsonSerializer.SerializeToNode(version.Settings, SettingsJson.Options),
        };
        return view;
    }

    /// <summary>The public base URL for endpoint links: <c>ISOLA_PUBLIC_URL</c>, else the address the node bound (<see cref="PublicBaseUrl"/>).</summary>
    public static string BaseUrl(HttpRequest request) => request.HttpContext.RequestServices.GetRequiredService<PublicBaseUrl>().Value;
}
