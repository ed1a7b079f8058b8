using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Isola.Cli.Project;

namespace Isola.Cli.Commands;

/// <summary>
/// The settings flags of <c>deploy</c> and <c>update</c>, spelled as MolnOS's and Supabase's CLIs spell them; each
/// wins over the project's config file.
/// </summary>
internal sealed class DeployFlags
{
    public Option<string?> Triggers { get; } = new("--triggers") { Description = "Triggers as JSON, e.g. '[{\"type\":\"http\"}]'" };

    public Option<string?> Methods { get; } = new("--methods") { Description = "Allowed HTTP methods, e.g. GET,POST" };

    public Option<string?> Bindings { get; } = new("--bindings") { Description = "Service bindings as JSON" };

    public Option<bool> AllowUnauthenticated { get; } = new("--allow-unauthenticated") { Description = "Anyone may call it, without a token (MolnOS)" };

    public Option<bool> NoVerifyJwt { get; } = new("--no-verify-jwt") { Description = "Do not require a valid JWT (Supabase)" };

    public Option<string?> EnvFile { get; } = new("--env-file") { Description = "Env vars for the function(s), from a NAME=value file" };

    public void AddTo(Command command)
    {
        command.Add(Triggers);
        command.Add(Methods);
        command.Add(Bindings);
        command.Add(AllowUnauthenticated);
        command.Add(NoVerifyJwt);
        command.Add(EnvFile);
    }

    /// <summary>The deploy API fields the flags set (only those given).</summary>
    public JsonObject Settings(CliContext context)
    {
        var settings = new JsonObject();
        if (context.Get(Triggers) is { } triggers)
        {
            settings["triggers"] = ParseJson(triggers, "--triggers");
        }

        if (context.Get(Methods) is { } methods)
        {
            settings["methods"] = ProjectConfig.Methods(methods);
        }

        if (context.Get(Bindings) is { } bindings)
        {
            settings["bindings"] = ParseJson(bindings, "--bindings");
        }

        if (context.Get(AllowUnauthenticated))
        {
            settings["allowUnauthenticated"] = true;
        }

        if (context.Get(NoVerifyJwt))
        {
            settings["verifyJwt"] = false;
        }

        return settings;
    }

    private static JsonNode ParseJson(string text, string flag)
    {
        try
        {
            return JsonNode.Parse(text) ?? throw new CliException($"{flag} must be JSON, not null", ExitCodes.Usage);
        }
        catch (JsonException ex)
        {
            throw new CliException($"{flag} is not valid JSON: {ex.Message}", ExitCodes.Usage);
        }
    }
}
