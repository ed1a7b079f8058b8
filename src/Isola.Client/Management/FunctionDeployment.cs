using System.Text.Json.Nodes;

namespace Isola.Client;

/// <summary>
/// What to deploy: the source as <see cref="Code"/> or as <see cref="Files"/> (uploaded as a .tar.gz, binary files
/// included), plus any other field of the deploy API in <see cref="Settings"/> (<c>timeoutMs</c>, <c>triggers</c>,
/// <c>verifyJwt</c>, <c>envVars</c> …). For an update every part is optional: what is left out is kept.
/// </summary>
public sealed class FunctionDeployment
{
    /// <summary>One TypeScript or JavaScript module.</summary>
    public string? Code { get; set; }

    /// <summary>Path relative to the function's folder → bytes; <c>../_shared/x.ts</c> reaches a shared folder beside it.</summary>
    public IDictionary<string, byte[]>? Files { get; set; }

    /// <summary>The file to run among <see cref="Files"/>; by default index.ts (or .js, .mjs, .tsx, .jsx, main.ts, main.js).</summary>
    public string? Entrypoint { get; set; }

    /// <summary>Every other field of the deploy API, as JSON.</summary>
    public JsonObject Settings { get; set; } = [];
}
