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

    /// <summary>A function's own binding login (feature D4), which is its own role; null for the three shared roles.</summary>
    public string? BindingLogin { get; init; }

    /// <summary>The PostgreSQL role name.</summary>
    public string RoleName => BindingLogin ?? AppDatabaseNames.RoleName(Role);

    /// <summary>A database binding: statements run as the function's own login, with only its declared grants.</summary>
    public static DbCaller Binding(string login) => new(DbRole.Service, $$"""{"role":"{{login}}"}""") { BindingLogin = login };
}
