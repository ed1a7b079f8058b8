using System.Text.Json.Nodes;

namespace Isola.Host.Auth;

/// <summary>
/// Who is calling a function, decided by the gateway before any worker is touched (A1, A3).
/// Sent to the worker as the <c>x-isola-caller</c> envelope: the function sees it as <c>ctx.auth</c>,
/// and <see cref="User"/> as <c>ctx.user</c>.
/// </summary>
internal sealed record Caller(string Kind, string Role, bool HasToken, string? UserId, string? Email, IReadOnlyList<string> Roles, bool IsAdmin, JsonObject? Claims)
{
    public const string AnonKind = "anon";
    public const string UserKind = "user";
    public const string ServiceKind = "service";

    /// <summary>No credentials at all.</summary>
    public static Caller Anonymous { get; } = new(AnonKind, "anon", HasToken: false, null, null, [], false, null);

    /// <summary>The app's anon key (a JWT with role anon): a guest with a token.</summary>
    public static Caller AnonKey(JsonObject claims) => new(AnonKind, "anon", HasToken: true, null, null, [], false, claims);

    public static Caller Service(string? keyName) => new(ServiceKind, "service", HasToken: true, null, null, [], true, keyName is null ? null : new JsonObject { ["apiKey"] = keyName });

    /// <summary>The envelope as JSON text; computed once per caller (the anonymous caller is shared by every request).</summary>
    public string EnvelopeJson => _envelopeJson ??= ToEnvelope().ToJsonString();

    private string? _envelopeJson;

    public JsonObject ToEnvelope()
    {
        var user = Kind == UserKind
            ? new JsonObject
            {
                ["id"] = UserId,
                ["email"] = Email,
                ["roles"] = new JsonArray([.. Roles.Select(r => JsonValue.Create(r))]),
                ["isAdmin"] = IsAdmin,
                ["claims"] = Claims?.DeepClone(),
            }
            : null;
        return new JsonObject
        {
            ["kind"] = Kind,
            ["role"] = Role,
            ["userId"] = UserId,
            ["email"] = Email,
            ["roles"] = new JsonArray([.. Roles.Select(r => JsonValue.Create(r))]),
            ["isAdmin"] = IsAdmin,
            ["user"] = user,
        };
    }
}
