using System.Text.Json.Nodes;

namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// Who a statement runs as: the PostgreSQL role, and the claims <c>auth.jwt()</c> returns
/// (<c>request.jwt.claims</c>, signed by the host so SQL cannot forge them).
/// </summary>
internal sealed record DbCaller(DbRole Role, string ClaimsJson)
{
    public static DbCaller Anon { get; } = new(DbRole.Anon, """{"role":"anon"}""");

    public static DbCaller Service { get; } = new(DbRole.Service, """{"role":"service_role"}""");

    /// <summary>A signed-in user: the token's claims, with <c>sub</c> and <c>role: authenticated</c> ensured.</summary>
    public static DbCaller User(string userId, JsonObject? claims = null)
    {
        var copy = claims is null ? [] : (JsonObject)claims.DeepClone();
        copy["sub"] = userId;
        copy["role"] = "authenticated";
        return new DbCaller(DbRole.Authenticated, copy.ToJsonString());
    }

    /// <summary>The PostgreSQL role name.</summary>
    public string RoleName => AppDatabaseNames.RoleName(Role);
}
