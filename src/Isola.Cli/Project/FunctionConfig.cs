using System.Text.Json.Nodes;

namespace Isola.Cli.Project;

/// <summary>
/// One <c>[functions.NAME]</c> section of isola.toml (or of a Supabase project's supabase/config.toml). Paths are
/// relative to the config file, as Supabase has them.
/// </summary>
internal sealed class FunctionConfig
{
    /// <summary>Supabase's <c>enabled = false</c> leaves a function out of a deploy.</summary>
    public bool Enabled { get; set; } = true;

    public string? Entrypoint { get; set; }

    public string? ImportMap { get; set; }

    public string? EnvFile { get; set; }

    /// <summary>Deploy API fields, already in its JSON names (verifyJwt, triggers, methods, timeoutMs …).</summary>
    public JsonObject Settings { get; } = [];
}
