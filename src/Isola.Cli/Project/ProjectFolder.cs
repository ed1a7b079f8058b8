using System.Text.Json.Nodes;

namespace Isola.Cli.Project;

/// <summary>
/// A project folder (C7): <c>functions/NAME/index.ts</c> with <c>functions/_shared/</c> and an <c>isola.toml</c>,
/// or a Supabase project, <c>supabase/functions/NAME/…</c> with <c>supabase/config.toml</c>, read unchanged.
/// </summary>
internal sealed class ProjectFolder
{
    /// <summary>Tried in this order when the config names no entrypoint (the host's own defaults).</summary>
    public static readonly string[] DefaultEntrypoints = ["index.ts", "index.js", "index.mjs", "index.tsx", "index.jsx", "main.ts", "main.js"];

    /// <summary>Folders beside the functions that are not functions: <c>_shared</c> and the like, and hidden ones.</summary>
    private static bool IsFunctionFolder(string name) => !name.StartsWith('_') && !name.StartsWith('.');

    private ProjectFolder(string root, string functionsDir, string configPath, bool isSupabase)
    {
        Root = root;
        FunctionsDir = functionsDir;
        ConfigPath = configPath;
        IsSupabase = isSupabase;
    }

    public string Root { get; }

    public string FunctionsDir { get; }

    /// <summary>isola.toml, or supabase/config.toml; it may not exist.</summary>
    public string ConfigPath { get; }

    public bool IsSupabase { get; }

    /// <summary>Which layout <paramref name="dir"/> has; a folder with neither is isola's (for <c>isola new</c> to create).</summary>
    public static ProjectFolder Detect(string dir)
    {
        var root = Path.GetFullPath(dir);
        if (!Directory.Exists(root))
        {
            throw new CliException($"the project folder {root} does not exist");
        }

        var isola = File.Exists(Path.Combine(root, "isola.toml")) || Directory.Exists(Path.Combine(root, "functions"));
        if (!isola && Directory.Exists(Path.Combine(root, "supabase")))
        {
            return new ProjectFolder(root, Path.Combine(root, "supabase", "functions"), Path.Combine(root, "supabase", "config.toml"), isSupabase: true);
        }

        return new ProjectFolder(root, Path.Combine(root, "functions"), Path.Combine(root, "isola.toml"), isSupabase: false);
    }

    /// <summary>Every function of the folder (or only <paramref name="only"/>), in name order; a folder with none is an error.</summary>
    public IReadOnlyList<LocalFunction> Load(string? only, JsonObject overrides, IReadOnlyDictionary<string, string>? envOverride)
    {
        var config = ProjectConfig.Read(ConfigPath, IsSupabase);
        var names = Directory.Exists(FunctionsDir)
            ? Directory.EnumerateDirectories(FunctionsDir).Select(Path.GetFileName).OfType<string>().Where(IsFunctionFolder).Order(StringComparer.Ordinal).ToList()
            : [];
        if (!Directory.Exists(FunctionsDir))
        {
            throw new CliException(IsSupabase
                ? $"{Root} is a Supabase project without {Relative(FunctionsDir)}/: create a function with 'isola new NAME'"
                : $"no project in {Root}: expected functions/NAME/index.ts (with isola.toml) or supabase/functions/NAME/index.ts; create a function with 'isola new NAME'");
        }

        if (names.Count == 0)
        {
            throw new CliException($"{Relative(FunctionsDir)}/ holds no functions: expected {Relative(FunctionsDir)}/NAME/index.ts (create one with 'isola new NAME')");
        }

        foreach (var configured in config.Keys.Where(name => !names.Contains(name)))
        {
            throw new CliException($"{Path.GetFileName(ConfigPath)} configures [functions.{configured}], but {Relative(Path.Combine(FunctionsDir, configured))} does not exist");
        }

        if (only is not null)
        {
            names = names.Contains(only)
                ? [only]
                : throw new CliException($"no function '{only}' in {Relative(FunctionsDir)} (there are: {string.Join(", ", names)})");
        }

        return [.. names
            .Where(name => only is not null || config.GetValueOrDefault(name)?.Enabled != false)
            .Select(name => Build(name, config.GetValueOrDefault(name) ?? new FunctionConfig(), overrides, envOverride))];
    }

    private LocalFunction Build(string name, FunctionConfig config, JsonObject overrides, IReadOnlyDictionary<string, string>? envOverride)
    {
        var folder = Path.Combine(FunctionsDir, name);
        var configDir = Path.GetDirectoryName(ConfigPath)!;
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        AddFiles(files, folder, prefix: "");
        var shared = Path.Combine(FunctionsDir, "_shared");
        if (Directory.Exists(shared))
        {
            AddFiles(files, shared, prefix: "../_shared/");
        }

        var entrypoint = config.Entrypoint is { } configured
            ? InFolder(folder, ResolveFrom(configDir, folder, configured), $"[functions.{name}] entrypoint '{configured}'")
            : DefaultEntrypoints.FirstOrDefault(files.ContainsKey)
              ?? throw new CliException($"{Relative(folder)} has no {string.Join(", ", DefaultEntrypoints)}; add one or set entrypoint in {Path.GetFileName(ConfigPath)}");
        if (!files.ContainsKey(entrypoint))
        {
            throw new CliException($"{Relative(Path.Combine(folder, entrypoint))} (the entrypoint of '{name}') does not exist");
        }

        if (config.ImportMap is { } importMap && !files.ContainsKey("deno.json") && !files.ContainsKey("import_map.json"))
        {
            // The host resolves imports with the function's own deno.json or import_map.json: a map kept elsewhere goes in as that.
            var path = ResolveFrom(configDir, folder, importMap);
            files["import_map.json"] = File.Exists(path) ? File.ReadAllBytes(path) : throw new CliException($"[functions.{name}] import_map: {Relative(path)} does not exist");
        }

        var settings = (JsonObject)config.Settings.DeepClone();
        foreach (var (key, value) in overrides)
        {
            settings[key] = value?.DeepClone();
        }

        var env = config.EnvFile is { } envFile ? DotEnv.Read(ResolveFrom(configDir, folder, envFile)) : null;
        if (envOverride is not null)
        {
            env ??= [];
            foreach (var (key, value) in envOverride)
            {
                env[key] = value;
            }
        }

        if (env is not null)
        {
            settings["envVars"] = new JsonObject(env.OrderBy(pair => pair.Key, StringComparer.Ordinal).Select(pair => KeyValuePair.Create(pair.Key, (JsonNode?)pair.Value)));
        }

        return new LocalFunction(name, folder, files, entrypoint, settings);
    }

    /// <summary>Every file under <paramref name="dir"/>, skipping hidden files and folders (.env, .git) and node_modules.</summary>
    private static void AddFiles(SortedDictionary<string, byte[]> files, string dir, string prefix)
    {
        foreach (var path in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(dir, path).Replace('\\', '/');
            if (relative.Split('/').Any(segment => segment.StartsWith('.') || segment == "node_modules"))
            {
                continue;
            }

            files[prefix + relative] = File.ReadAllBytes(path);
        }
    }

    /// <summary>A config path: relative to the config file as Supabase has it, else to the function's folder.</summary>
    private static string ResolveFrom(string configDir, string folder, string path)
    {
        var fromConfig = Path.GetFullPath(Path.Combine(configDir, path));
        return File.Exists(fromConfig) ? fromConfig : Path.GetFullPath(Path.Combine(folder, path));
    }

    private string InFolder(string folder, string path, string what)
    {
        var relative = Path.GetRelativePath(folder, path).Replace('\\', '/');
        return relative.StartsWith("../", StringComparison.Ordinal) || Path.IsPathRooted(relative)
            ? throw new CliException($"{what} is outside {Relative(folder)}")
            : relative;
    }

    public string Relative(string path) => Path.GetRelativePath(Directory.GetCurrentDirectory(), path);
}
