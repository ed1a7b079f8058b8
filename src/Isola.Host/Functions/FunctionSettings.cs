namespace Isola.Host.Functions;

/// <summary>
/// Everything about a function version except its source and env values (feature C1), with the
/// seeds' defaults. Stored as JSON in <c>function_versions.settings</c>; immutable per version.
/// </summary>
internal sealed record FunctionSettings
{
    public const int DefaultTimeoutMs = 30_000;
    public const int MinTimeoutMs = 1;
    public const int MaxTimeoutMs = 300_000;
    public const int DefaultMemoryLimitMb = 128;
    public const int MinMemoryLimitMb = 64;
    public const int MaxMemoryLimitMb = 1024;

    public static readonly IReadOnlyList<string> AuthModes = ["user", "public", "guest", "admin"];

    public static readonly IReadOnlyList<string> HttpMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

    public string? Description { get; init; }

    /// <summary>Defaults to a single http trigger, as in both seeds.</summary>
    public IReadOnlyList<TriggerSpec> Triggers { get; init; } = [TriggerSpec.HttpTrigger];

    /// <summary>Allowed HTTP methods; null allows all.</summary>
    public IReadOnlyList<string>? Methods { get; init; }

    /// <summary>Wall-clock limit of one invocation, from the gateway accepting the request to the response head.</summary>
    public int TimeoutMs { get; init; } = DefaultTimeoutMs;

    /// <summary>V8 heap limit of the function's worker process.</summary>
    public int MemoryLimitMb { get; init; } = DefaultMemoryLimitMb;

    public bool AllowUnauthenticated { get; init; }

    public bool PassAllHeaders { get; init; }

    public bool VerifyJwt { get; init; } = true;

    /// <summary>Pylon auth mode (user, public, guest, admin); null folds verifyJwt and allowUnauthenticated into one (see AccessPolicy).</summary>
    public string? Auth { get; init; }

    /// <summary>Callable only from inside the platform (events, cron, other functions); 404 over HTTP.</summary>
    public bool Internal { get; init; }

    public IReadOnlyList<BindingSpec> Bindings { get; init; } = [];

    /// <summary>Where the function may connect; public internet only unless it opts in to private addresses.</summary>
    public NetworkSettings Network { get; init; } = NetworkSettings.Default;

    /// <summary>MolnOS grouping label.</summary>
    public string? Context { get; init; }

    /// <summary>For a typed function (query, mutation, action), what its module declares; null for every other function.</summary>
    public TypedDefinition? Typed { get; init; }

    public bool HasTrigger(string type)
    {
        for (var i = 0; i < Triggers.Count; i++)
        {
            if (Triggers[i].Type == type)
            {
                return true;
            }
        }

        return false;
    }
}
