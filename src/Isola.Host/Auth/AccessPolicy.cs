using Isola.Host.Errors;
using Isola.Host.Functions;

namespace Isola.Host.Auth;

/// <summary>
/// Who may call a function (A2), decided from its settings before a worker is chosen. The three
/// products' switches fold into one level; docs/access-control.md has the table.
/// </summary>
internal static class AccessPolicy
{
    public enum Level
    {
        /// <summary>Anyone, with no credentials.</summary>
        Anyone,

        /// <summary>Any valid JWT of the app: the anon key counts (Supabase's verify_jwt).</summary>
        Token,

        /// <summary>A signed-in end user.</summary>
        User,

        /// <summary>A signed-in end user with the admin role.</summary>
        Admin,
    }

    /// <summary>
    /// An explicit <c>auth</c> mode wins. Without one: <c>allowUnauthenticated: true</c> or
    /// <c>verifyJwt: false</c> opens the function to anyone, otherwise any valid JWT is required.
    /// </summary>
    public static Level Effective(FunctionSettings settings) => settings.Auth switch
    {
        "public" => Level.Anyone,
        "guest" => Level.Token,
        "user" => Level.User,
        "admin" => Level.Admin,
        _ => settings.AllowUnauthenticated || !settings.VerifyJwt ? Level.Anyone : Level.Token,
    };

    public static string Describe(Level level) => level switch
    {
        Level.Anyone => "anyone",
        Level.Token => "token",
        Level.User => "user",
        _ => "admin",
    };

    /// <summary>Returns the caller to run as, or throws 401 / 403 with the reason.</summary>
    public static Caller Admit(FunctionSettings settings, CallerIdentifier.Result identity, string functionName)
    {
        var level = Effective(settings);
        if (identity.Refused is { } refused)
        {
            throw refused;
        }

        if (identity.Invalid is { } reason)
        {
            // verifyJwt: false hands an unverifiable token to the function as it is, when anyone may call.
            if (level == Level.Anyone && !settings.VerifyJwt && !identity.PlatformKey)
            {
                return Caller.Anonymous;
            }

            throw new IsolaException(ErrorKind.Unauthenticated, ErrorCodes.AuthRequired, $"invalid credentials: {reason}");
        }

        var caller = identity.Caller!;
        Require(level, caller, functionName);
        return caller;
    }

    /// <summary>Throws 401 / 403 unless <paramref name="caller"/> (already identified) may call a function with these settings.</summary>
    public static void Require(FunctionSettings settings, Caller caller, string functionName) => Require(Effective(settings), caller, functionName);

    private static void Require(Level level, Caller caller, string functionName)
    {
        if (caller.Kind == Caller.ServiceKind)
        {
            return;
        }

        switch (level)
        {
            case Level.Token when !caller.HasToken:
                throw new IsolaException(ErrorKind.Unauthenticated, ErrorCodes.AuthRequired,
                    $"'{functionName}' needs a JWT: send the app's anon key or a user token as 'Authorization: Bearer <token>'");
            case Level.User or Level.Admin when caller.Kind != Caller.UserKind:
                throw new IsolaException(ErrorKind.Unauthenticated, ErrorCodes.AuthRequired, $"'{functionName}' needs a signed-in user: send a user token as 'Authorization: Bearer <token>'");
            case Level.Admin when !caller.IsAdmin:
                throw new IsolaException(ErrorKind.Forbidden, ErrorCodes.Forbidden, $"'{functionName}' is for admins; user '{caller.UserId}' does not have the admin role");
        }
    }
}
