using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Hosting;
using Isola.Host.Observability;
using Isola.Host.Workers;

namespace Isola.Host.Build;

/// <summary>
/// Bundles a function's source with the pinned Deno (<c>deno bundle</c>) into one ES module, with
/// <c>npm:</c> and <c>node:</c> imports resolved now rather than at first call. Build failures are
/// 422 BUILD_FAILED with <c>file:line:col</c>; nothing is written anywhere but a scratch folder.
/// </summary>
/// <param name="functionsModule">The folder of <c>@isola/functions</c> (<c>runtime/functions</c>), mapped into every build; null when this node has none.</param>
internal sealed partial class FunctionBuilder(IsolaOptions options, string denoPath, Lazy<string?> functionsModule, ILogger<FunctionBuilder> logger)
{
    /// <summary>Name under which a MolnOS-style script's top-level <c>handler</c> is exported for the runtime.</summary>
    public const string ScriptHandlerExport = WorkerProtocol.ScriptHandlerExport;

    /// <summary>The names a function imports the typed-functions module by (R1); both resolve to runtime/functions/mod.ts.</summary>
    public static readonly IReadOnlyList<string> FunctionsModuleSpecifiers = ["@isola/functions", "@pylonsync/functions"];

    /// <summary>Where the build copies the module, beside the function folders (a name no function can have: it starts with a dot).</summary>
    private const string FunctionsModuleFolder = ".isola-runtime/functions";

    private string BuildRoot => Path.Combine(options.DataDir, "builds");

    /// <summary>Shared by every build, so an npm package is downloaded once per node.</summary>
    private string DenoCache => options.DenoCacheDir ?? Path.Combine(options.DataDir, "deno-cache");

    public async Task<BuildArtifact> BuildAsync(string functionName, FunctionSource source, CancellationToken cancellationToken)
    {
        // scratch/src is the functions root (a Supabase project's supabase/functions): the function's
        // folder and any ../_shared siblings live there; scratch/out receives the bundle.
        var scratch = Path.Combine(BuildRoot, Guid.NewGuid().ToString("N"));
        var sourceRoot = Path.Combine(scratch, "src");
        var sourceDir = Path.Combine(sourceRoot, functionName);
        var outDir = Path.Combine(scratch, "out");
        Directory.CreateDirectory(sourceDir);
        Directory.CreateDirectory(outDir);
        try
        {
            await WriteSourcesAsync(source, sourceRoot, sourceDir, cancellationToken);
            var useImportMapFlag = !source.Files.ContainsKey("deno.json") && !source.Files.ContainsKey("deno.jsonc") && source.Files.ContainsKey("import_map.json");
            var moduleDir = await MapFunctionsModuleAsync(sourceRoot, sourceDir, useImportMapFlag, cancellationToken);
            var stopwatch = Stopwatch.StartNew();
            var remaining = options.BuildTimeout;
            if (source.Files.ContainsKey("package.json"))
            {
                // CommonJS and bare imports resolve through node_modules, which deno install lays out from the cache.
                var install = await RunDenoAsync(["install", "--quiet"], sourceDir, remaining, cancellationToken);
                if (install.ExitCode != 0)
                {
                    throw BuildFailed("installing package.json dependencies failed: " + DescribeFailure(install.Combined, sourceDir));
                }

                remaining -= stopwatch.Elapsed;
            }

            var output = Path.Combine(outDir, "bundle.mjs");
            var result = await AloneUntilCacheIsWarmAsync(
                () => RunDenoAsync(BundleArguments(output, source.Entrypoint, useImportMapFlag), sourceDir, remaining, cancellationToken), cancellationToken);
            if (result.TimedOut)
            {
                throw BuildFailed($"the build did not finish within {options.BuildTimeout.TotalSeconds:0} s (slow npm download?)");
            }

            if (result.ExitCode != 0 || !File.Exists(output))
            {
                throw BuildFailed(DescribeFailure(result.Combined, sourceDir));
            }

            var usesFunctionsModule = CheckSourcesStayInside(output + ".map", outDir, sourceRoot, moduleDir);
            var content = await File.ReadAllBytesAsync(output, cancellationToken);
            if (content.Length == 0 || content.All(b => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'))
            {
                throw BuildFailed("the code bundles to nothing: export a default handler (export default async function handler(req, ctx) { ... }), " +
                    "call Deno.serve(...), or define a MolnOS-style function handler(request, context)");
            }

            LogBuilt(logger, functionName, content.Length, stopwatch.ElapsedMilliseconds);
            return new BuildArtifact("sha256:" + Convert.ToHexStringLower(SHA256.HashData(content)), content, usesFunctionsModule);
        }
        finally
        {
            TryDelete(scratch);
        }
    }

    private static async Task WriteSourcesAsync(FunctionSource source, string sourceRoot, string sourceDir, CancellationToken cancellationToken)
    {
        foreach (var (path, bytes) in source.Files)
        {
            var target = Path.GetFullPath(Path.Combine(sourceDir, path));
            if (!target.StartsWith(sourceRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                throw BuildFailed($"the file '{path}' lies outside the functions folder");
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            var content = path == source.Entrypoint
                ? System.Text.Encoding.UTF8.GetBytes(ExposeScriptHandler(System.Text.Encoding.UTF8.GetString(bytes)))
                : bytes;
            await File.WriteAllBytesAsync(target, content, cancellationToken);
        }

        // An empty deno.json at the functions root stops Deno's config discovery there, so nothing
        // above the scratch folder (a repository's own deno.json) changes how the function resolves.
        var sentinel = Path.Combine(sourceRoot, "deno.json");
        if (!File.Exists(sentinel))
        {
            await File.WriteAllTextAsync(sentinel, "{}", cancellationToken);
        }
    }

    private readonly SemaphoreSlim _firstBundle = new(1, 1);
    private volatile bool _cacheWarm;

    /// <summary>
    /// <c>deno bundle</c> fetches esbuild into the cache and copies its binary out on first use; two first bundles at
    /// once on an empty cache fail with "failed to copy esbuild binary". So bundles run one at a time until one has
    /// succeeded on this node's cache, then in parallel: one at a time in this node, and, holding a lock file in the
    /// cache, in every node that shares it (several nodes on one machine, the test suite's nodes).
    /// </summary>
    private async Task<ChildProcess.Result> AloneUntilCacheIsWarmAsync(Func<Task<ChildProcess.Result>> bundle, CancellationToken cancellationToken)
    {
        if (_cacheWarm)
        {
            return await bundle();
        }

        await _firstBundle.WaitAsync(cancellationToken);
        try
        {
            if (_cacheWarm)
            {
                return await bundle();
            }

            using var cacheLock = await LockCacheAsync(cancellationToken);
            var result = await bundle();
            _cacheWarm |= result.ExitCode == 0 && !result.TimedOut;
            return result;
        }
        finally
        {
            _firstBundle.Release();
        }
    }

    /// <summary>The lock file in the Deno cache that first bundles of every node sharing it take in turn.</summary>
    internal const string FirstBundleLock = ".isola-first-bundle.lock";

    /// <summary>
    /// An exclusive lock on <see cref="FirstBundleLock"/> (flock: the kernel drops it with the process), waited for at
    /// most one build timeout; null when it could not be had (the bundle then runs without it, as it did before).
    /// </summary>
    private async Task<FileStream?> LockCacheAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(DenoCache, FirstBundleLock);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                Directory.CreateDirectory(DenoCache);
                // FileShare.None takes flock(LOCK_EX | LOCK_NB) on Linux; another node's first bundle holds it for seconds at most.
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                if (waited.Elapsed > options.BuildTimeout)
                {
                    LogCacheLockUnavailable(logger, path, ex.Message);
                    return null;
                }

                await Task.Delay(50, cancellationToken);
            }
        }
    }

    private Task<ChildProcess.Result> RunDenoAsync(IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout, CancellationToken cancellationToken) =>
        ChildProcess.RunAsync(denoPath, arguments, timeout < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : timeout, workingDirectory, BuildEnvironment(), cancellationToken);

    /// <summary>
    /// A MolnOS function is a plain script defining <c>handler</c> with no exports; the bundler would
    /// drop it as dead code, so it is exported under a reserved name the runtime looks for.
    /// </summary>
    internal static string ExposeScriptHandler(string code)
    {
        if (ExportStatement().IsMatch(code) || !ScriptHandler().IsMatch(code))
        {
            return code;
        }

        return code + $"\n;export {{ handler as {ScriptHandlerExport} }};\n";
    }

    private Dictionary<string, string?> BuildEnvironment() => new()
    {
        ["DENO_DIR"] = DenoCache,
        ["NO_COLOR"] = "1",
        ["RUST_BACKTRACE"] = "0",
        ["DENO_NO_UPDATE_CHECK"] = "1",
        ["DENO_NO_PROMPT"] = "1",
    };

    /// <summary>
    /// The bundler reads any path the code imports, so <c>import x from "/etc/passwd" with {type: "text"}</c>
    /// would copy host files into the artifact. The source map lists every input: each must be the
    /// function's own file or a module in the Deno cache (npm, jsr, https). Returns whether one of them is
    /// the typed-functions module.
    /// </summary>
    private bool CheckSourcesStayInside(string sourceMapPath, string outDir, string sourceRoot, string moduleDir)
    {
        if (!File.Exists(sourceMapPath))
        {
            throw BuildFailed("the bundler wrote no source map, so the build's inputs cannot be checked");
        }

        using var map = JsonDocument.Parse(File.ReadAllBytes(sourceMapPath));
        if (!map.RootElement.TryGetProperty("sources", out var sources))
        {
            return false;
        }

        var usesModule = false;

        var allowed = new[] { sourceRoot + Path.DirectorySeparatorChar, DenoCache + Path.DirectorySeparatorChar };
        var scratch = Path.GetDirectoryName(outDir) + Path.DirectorySeparatorChar;
        foreach (var source in sources.EnumerateArray())
        {
            var text = source.GetString() ?? "";
            if (UrlScheme().IsMatch(text))
            {
                // A URL the bundler fetched (https:) or a module carried inline ("dataurl:data:..."), not a local
                // file. Read as a path it would resolve under the scratch folder and name it in the error.
                // A file a data: module imports is listed as its own source and checked like any other.
                continue;
            }

            var full = Path.GetFullPath(Path.Combine(outDir, text));
            if (!allowed.Any(prefix => full.StartsWith(prefix, StringComparison.Ordinal)))
            {
                // Name what the code asked for, never the node's own build folder.
                var shown = full.StartsWith(scratch, StringComparison.Ordinal) ? text : full;
                throw BuildFailed($"the code imports {shown}, a file outside the function's own sources; only the function's files, npm:, node:, jsr: and https: modules can be imported");
            }

            usesModule |= full.StartsWith(moduleDir + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        }

        return usesModule;
    }

    /// <summary>
    /// Copies <c>@isola/functions</c> beside the function and maps its names (<see cref="FunctionsModuleSpecifiers"/>)
    /// in the import map the bundler will use: the function's <c>import_map.json</c> when it is passed with
    /// <c>--import-map</c>, else its <c>deno.json(c)</c> (or the file that names in <c>importMap</c>), else the
    /// functions root's. A mapping the function makes itself is left alone. Returns the module's folder.
    /// </summary>
    private async Task<string> MapFunctionsModuleAsync(string sourceRoot, string sourceDir, bool importMapFlag, CancellationToken cancellationToken)
    {
        var moduleDir = Path.Combine(sourceRoot, FunctionsModuleFolder);
        if (functionsModule.Value is not { } moduleSource)
        {
            return moduleDir; // A node without the runtime's files: importing the module fails the build, saying what is missing.
        }

        Directory.CreateDirectory(moduleDir);
        foreach (var file in Directory.EnumerateFiles(moduleSource, "*.ts"))
        {
            File.Copy(file, Path.Combine(moduleDir, Path.GetFileName(file)), overwrite: true);
        }

        var entry = Path.Combine(moduleDir, "mod.ts");
        var config = importMapFlag ? Path.Combine(sourceDir, "import_map.json")
            : new[] { Path.Combine(sourceDir, "deno.json"), Path.Combine(sourceDir, "deno.jsonc"), Path.Combine(sourceRoot, "deno.json"), Path.Combine(sourceRoot, "deno.jsonc") }
                .First(File.Exists); // the functions root's deno.json exists: WriteSourcesAsync made it if the function did not
        var document = await ReadConfigAsync(config, cancellationToken);
        if (document is null)
        {
            return moduleDir; // Not JSON: the bundler reports it better than we could.
        }

        var mapFile = config;
        var map = document;
        if (!importMapFlag && document["importMap"] is JsonValue importMap && importMap.TryGetValue<string>(out var mapPath) &&
            !mapPath.Contains("://", StringComparison.Ordinal))
        {
            // The config names a separate import map: the mapping goes there.
            mapFile = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(config)!, mapPath));
            if (!mapFile.StartsWith(sourceRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal) || await ReadConfigAsync(mapFile, cancellationToken) is not { } separate)
            {
                return moduleDir;
            }

            map = separate;
        }

        if (map["imports"] is not JsonObject imports)
        {
            map["imports"] = imports = [];
        }

        var relative = Path.GetRelativePath(Path.GetDirectoryName(mapFile)!, entry);
        foreach (var specifier in FunctionsModuleSpecifiers)
        {
            if (!imports.ContainsKey(specifier))
            {
                imports[specifier] = relative.StartsWith("../", StringComparison.Ordinal) ? relative : "./" + relative;
            }
        }

        await File.WriteAllTextAsync(mapFile, map.ToJsonString(), cancellationToken);
        return moduleDir;
    }

    /// <summary>
    /// <c>runtime/functions</c>: beside the runtime this node runs (<c>ISOLA_RUNTIME</c>), else upward from the host's
    /// folder, as the runtime itself is found; null when there is none.
    /// </summary>
    public static string? FindFunctionsModule(string? runtimePath)
    {
        if (runtimePath is not null && Path.Combine(Path.GetDirectoryName(Path.GetFullPath(runtimePath))!, "functions") is { } beside &&
            File.Exists(Path.Combine(beside, "mod.ts")))
        {
            return beside;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "runtime", "functions");
            if (File.Exists(Path.Combine(candidate, "mod.ts")))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>A deno.json(c) or import map as JSON (comments and trailing commas allowed); null when it is not an object.</summary>
    private static async Task<JsonObject?> ReadConfigAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return JsonNode.Parse(await File.ReadAllTextAsync(path, cancellationToken), documentOptions: new JsonDocumentOptions
            {
                CommentHandling = JsonCommentHandling.Skip,
                AllowTrailingCommas = true,
            }) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Turns Deno's error output into "index.ts:3:7: SyntaxError: ..." with paths relative to the function.</summary>
    internal static string DescribeFailure(string output, string sourceDir)
    {
        var lines = output.Split('\n').Select(line => line.TrimEnd()).ToList();
        var message = lines.FirstOrDefault(line => line.StartsWith("error: ", StringComparison.Ordinal) && line != "error: bundling failed");
        message = message is null ? "deno bundle failed: " + string.Join(' ', lines.Where(l => l.Length > 0).Take(5)) : message["error: ".Length..];
        // Paths inside the scratch folder mean nothing to the user; show them relative to the function.
        var sourceRoot = Path.GetDirectoryName(sourceDir) + "/";
        message = message.Replace("file://", "", StringComparison.Ordinal).Replace(sourceDir + "/", "", StringComparison.Ordinal).Replace(sourceRoot, "../", StringComparison.Ordinal);
        foreach (var line in lines)
        {
            var match = Location().Match(line);
            if (!match.Success)
            {
                continue;
            }

            var path = Uri.UnescapeDataString(match.Groups["path"].Value);
            var prefix = sourceDir + "/";
            var root = Path.GetDirectoryName(sourceDir) + "/";
            var shown = path.StartsWith(prefix, StringComparison.Ordinal) ? path[prefix.Length..]
                : path.StartsWith(root, StringComparison.Ordinal) ? "../" + path[root.Length..]
                : path;
            return $"{shown}:{match.Groups["line"].Value}:{match.Groups["col"].Value}: {message}";
        }

        return message;
    }

    /// <summary>The <c>deno</c> arguments that bundle a function (the runtime's test harness takes them from here too).</summary>
    public static List<string> BundleArguments(string output, string entrypoint, bool importMap)
    {
        List<string> arguments = ["bundle", "--platform", "deno", "--sourcemap=external", "--no-lock", "--quiet", "-o", output];
        if (importMap)
        {
            arguments.AddRange(["--import-map", "import_map.json"]);
        }

        arguments.Add(entrypoint);
        return arguments;
    }

    internal static IsolaException BuildFailed(string message) =>
        new(ErrorKind.Unprocessable, ErrorCodes.BuildFailed, "build failed: " + message) { Field = "code" };

    private void TryDelete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException ex)
        {
            LogCleanupFailed(logger, path, ex.Message);
        }
    }

    [GeneratedRegex(@"^\s*export\s", RegexOptions.Multiline)]
    private static partial Regex ExportStatement();

    [GeneratedRegex(@"(^|[;\s])((async\s+)?function\s*\*?\s*handler\s*\(|(const|let|var)\s+handler\s*=)", RegexOptions.Multiline)]
    private static partial Regex ScriptHandler();

    /// <summary>A URL scheme ("https:", "dataurl:", "npm:"); two letters at least, so never a drive letter.</summary>
    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9+.\-]+:")]
    private static partial Regex UrlScheme();

    [GeneratedRegex(@"at file://(?<path>/[^\s]*?):(?<line>\d+):(?<col>\d+)")]
    private static partial Regex Location();

    [LoggerMessage(EventId = LogEvents.FunctionBuilt, Level = LogLevel.Information, Message = "Built {Function}: {Bytes} bytes in {Milliseconds} ms")]
    private static partial void LogBuilt(ILogger logger, string function, int bytes, long milliseconds);

    [LoggerMessage(EventId = LogEvents.BuildCacheLockUnavailable, Level = LogLevel.Warning,
        Message = "Could not take the first-bundle lock {Path} within the build timeout ({Reason}); bundling without it")]
    private static partial void LogCacheLockUnavailable(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = LogEvents.BuildCleanupFailed, Level = LogLevel.Warning, Message = "Could not remove build scratch folder {Path}: {Reason}")]
    private static partial void LogCleanupFailed(ILogger logger, string path, string reason);
}
