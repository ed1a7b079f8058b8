using System.Text.Json.Nodes;
using Tomlyn;
using Tomlyn.Model;

namespace Isola.Cli.Project;

/// <summary>
/// Reads a project's config file with Tomlyn. In isola.toml every key must be known (a typo is an error naming
/// it); in a Supabase config.toml only <c>[functions.*]</c> is read and keys Isola has no use for are passed over.
/// </summary>
internal static class ProjectConfig
{
    /// <summary>isola.toml keys of a function section, and the deploy API field each one sets (null: used by the CLI itself).</summary>
    private static readonly Dictionary<string, string?> Keys = new(StringComparer.Ordinal)
    {
        ["verify_jwt"] = "verifyJwt",
        ["allow_unauthenticated"] = "allowUnauthenticated",
        ["entrypoint"] = null,
        ["import_map"] = null,
        ["env_file"] = null,
        ["triggers"] = "triggers",
        ["methods"] = "methods",
        ["timeout_ms"] = "timeoutMs",
        ["memory_limit_mb"] = "memoryLimitMb",
        ["auth"] = "auth",
        ["bindings"] = "bindings",
        ["description"] = "description",
    };

    /// <summary>Keys of Supabase's config.toml function sections that a deploy here has no use for.</summary>
    private static readonly string[] SupabaseOnly = ["enabled", "static_files"];

    public static Dictionary<string, FunctionConfig> Read(string path, bool supabase)
    {
        var functions = new Dictionary<string, FunctionConfig>(StringComparer.Ordinal);
        if (!File.Exists(path))
        {
            return functions;
        }

        var file = Path.GetFileName(path);
        TomlTable root;
        try
        {
            root = TomlSerializer.Deserialize<TomlTable>(File.ReadAllText(path)) ?? [];
        }
        catch (TomlException ex)
        {
            throw new CliException($"{path} is not valid TOML: {ex.Message}");
        }

        foreach (var (key, value) in root)
        {
            if (key != "functions")
            {
                if (!supabase)
                {
                    throw new CliException($"{file}: unknown key '{key}' (isola.toml holds [functions.NAME] sections)");
                }

                continue;
            }

            if (value is not TomlTable sections)
            {
                throw new CliException($"{file}: 'functions' must be a table of [functions.NAME] sections");
            }

            foreach (var (name, section) in sections)
            {
                functions[name] = section is TomlTable table
                    ? ReadFunction(table, $"{file} [functions.{name}]", supabase)
                    : throw new CliException($"{file}: functions.{name} must be a table ([functions.{name}])");
            }
        }

        return functions;
    }

    private static FunctionConfig ReadFunction(TomlTable table, string where, bool supabase)
    {
        var config = new FunctionConfig();
        foreach (var (key, value) in table)
        {
            if (supabase && key == "enabled")
            {
                config.Enabled = value is bool enabled ? enabled : throw Wrong(where, key, "true or false");
                continue;
            }

            if (!Keys.TryGetValue(key, out var field))
            {
                if (supabase && SupabaseOnly.Contains(key))
                {
                    continue;
                }

                if (supabase)
                {
                    Output.Terminal.Error($"{where}: ignoring '{key}' (not used by Isola)");
                    continue;
                }

                throw new CliException($"{where}: unknown key '{key}'; known keys: {string.Join(", ", Keys.Keys)}");
            }

            switch (key)
            {
                case "entrypoint":
                    config.Entrypoint = value as string ?? throw Wrong(where, key, "a path (string)");
                    break;
                case "import_map":
                    config.ImportMap = value as string ?? throw Wrong(where, key, "a path (string)");
                    break;
                case "env_file":
                    config.EnvFile = value as string ?? throw Wrong(where, key, "a path (string)");
                    break;
                case "verify_jwt" or "allow_unauthenticated":
                    config.Settings[field!] = value is bool flag ? flag : throw Wrong(where, key, "true or false");
                    break;
                case "timeout_ms" or "memory_limit_mb":
                    config.Settings[field!] = value is long number ? number : throw Wrong(where, key, "an integer");
                    break;
                case "auth" or "description":
                    config.Settings[field!] = value is string text ? text : throw Wrong(where, key, "a string");
                    break;
                case "methods":
                    config.Settings[field!] = value switch
                    {
                        string list => Methods(list),
                        TomlArray array when array.All(item => item is string) => new JsonArray([.. array.Select(item => JsonValue.Create((string)item!))]),
                        _ => throw Wrong(where, key, "a list of HTTP methods, e.g. [\"GET\", \"POST\"]"),
                    };
                    break;
                case "triggers" or "bindings":
                    config.Settings[field!] = value is TomlArray or TomlTableArray
                        ? TomlJson.From(value)
                        : throw Wrong(where, key, "a list of tables, e.g. [{ type = \"http\" }]");
                    break;
            }
        }

        return config;
    }

    /// <summary><c>GET,POST</c> as the deploy API's method list (the <c>--methods</c> flag's form too).</summary>
    public static JsonArray Methods(string list) =>
        new([.. list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(method => JsonValue.Create(method.ToUpperInvariant()))]);

    private static CliException Wrong(string where, string key, string expected) => new($"{where}: {key} must be {expected}");
}
