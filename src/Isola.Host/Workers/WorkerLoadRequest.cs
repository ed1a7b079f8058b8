using System.Text.Json;
using System.Text.Json.Serialization;

namespace Isola.Host.Workers;

/// <summary>Body of <c>POST /__isola/load</c> (runtime/PROTOCOL.md).</summary>
internal sealed record WorkerLoadRequest(string Bundle, WorkerFunctionInfo Function, IReadOnlyDictionary<string, string> Env, object Bindings);

internal sealed record WorkerFunctionInfo(Guid Id, string Name, string App, int Version);

internal static class WorkerJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    /// <summary>Pulls <c>error.message</c> out of a runtime error body, or returns the body as it is.</summary>
    public static string ErrorMessage(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("error", out var error) && error.TryGetProperty("message", out var message))
            {
                return message.GetString() ?? body;
            }

            if (document.RootElement.TryGetProperty("message", out var plain))
            {
                return plain.GetString() ?? body;
            }
        }
        catch (JsonException)
        {
        }

        return body.Length > 500 ? body[..500] : body;
    }
}
