using System.Text.Json;

namespace Isola.Host.Invocations;

/// <summary>
/// How an invocation ended, typed: no exception escapes <see cref="FunctionInvoker"/> for anything the
/// function or its worker did. <see cref="Failed"/> is the rule events and the scheduler retry on:
/// a throw, a 5xx (or MolnOS <c>statusCode</c> ≥ 500, which the runtime turns into the status), a
/// timeout, a crash, no capacity.
/// </summary>
internal sealed record InvocationOutcome(string InvocationId, int Status, string? ErrorCode, string? ErrorMessage, string? ContentType, byte[] Body)
{
    /// <summary>The response's body, up to this many bytes, is kept for trigger callers (a websocket reply).</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    /// <summary>
    /// The function (or the host on its behalf) failed: retry-worthy for events and scheduled calls. A refusal of the
    /// call itself (a typed function's INVALID_ARGS or POLICY_DENIED, a deleted function's 404) is not: it would fail again.
    /// </summary>
    public bool Failed => Status >= 500 || (ErrorCode is not null && Status < 400);

    /// <summary>For a refusal of arguments (INVALID_ARGS), the path of the one at fault (<c>body</c>, <c>items[2].name</c>).</summary>
    public string? ErrorField { get; init; }

    /// <summary>The body parsed as JSON when it says it is JSON (or looks like it) and parses; else null.</summary>
    public JsonElement? JsonBody()
    {
        if (Body.Length == 0)
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(Body);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>One line for logs and dead-letter rows: the error code and message, or the status.</summary>
    public string Describe() => ErrorCode is null ? $"status {Status}" : $"{ErrorCode}: {ErrorMessage}";
}
