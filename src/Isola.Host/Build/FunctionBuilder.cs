using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using Isola.Host.Api;
using Isola.Host.Hosting;

namespace Isola.Host.Build;

/// <summary>
/// Bundles a function's source with the pinned Deno (<c>deno bundle</c>) into one ES module, with
/// <c>npm:</c> and <c>node:</c> imports resolved now rather than at first call. Build failures are
/// 422 BUILD_FAILED with <c>file:line:col</c>; nothing is written anywhere but a scratch folder.
/// </summary>
internal sealed partial class FunctionBuilder(IsolaOptions options, string denoPath, ILogger<FunctionBuilder> logger)
{
    public const string EntryFile = "index.ts";

    /// <summary>Name under which a MolnOS-style script's top-level <c>handler</c> is exported for the runtime.</summary>
    public const string ScriptHandlerExport = "__isolaScriptHandler";

    private string BuildRoot => Path.Combine(options.DataDir, "builds");

    /// <summary>Shared by every build, so an npm package is downloaded once per node.</summary>
    private string DenoCache => options.DenoCacheDir ?? Path.Combine(options.DataDir, "deno-cache");

    public async Task<BuildArtifact> BuildAsync(string functionName, string code, CancellationToken cancellationToken)
    {
        var scratch = Path.Combine(BuildRoot, Guid.NewGuid().ToString("N"));
        var sourceDir = Path.Combine(scratch, functionName);
        var outDir = Path.Combine(scratch, "out");
        Directory.CreateDirectory(sourceDir);
        Directory.CreateDirectory(outDir);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(sourceDir, EntryFile), ExposeScriptHandler(code), cancellationToken);
            var output = Path.Combine(outDir, "bundle.mjs");
            var stopwatch = Stopwatch.StartNew();
            var result = await ChildProcess.RunAsync(denoPath,
                ["bundle", "--platform", "deno", "--sourcemap=external", "--no-config", "--no-lock", "--quiet", "-o", output, EntryFile],
                options.BuildTimeout, sourceDir, BuildEnvironment(), cancellationToken);
            if (result.TimedOut)
            {
                throw BuildFailed($"the build did not finish within {options.BuildTimeout.TotalSeconds:0} s (slow npm download?)");
            }

            if (result.ExitCode != 0 || !File.Exists(output))
            {
                throw BuildFailed(DescribeFailure(result.Combined, sourceDir));
            }

            CheckSourcesStayInside(output + ".map", outDir, sourceDir);
            var content = await File.ReadAllBytesAsync(output, cancellationToken);
            if (content.Length == 0 || content.All(b => b is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t'))
            {
                throw BuildFailed("the code bundles to nothing: export a default handler (export default async function handler(req, ctx) { ... }), " +
                    "call Deno.serve(...), or define a MolnOS-style function handler(request, context)");
            }

            LogBuilt(logger, functionName, content.Length, stopwatch.ElapsedMilliseconds);
            return new BuildArtifact("sha256:" + Convert.ToHexStringLower(SHA256.HashData(content)), content);
        }
        finally
        {
            TryDelete(scratch);
        }
    }

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
    /// function's own file or a module in the Deno cache (npm, jsr, https).
    /// </summary>
    private void CheckSourcesStayInside(string sourceMapPath, string outDir, string sourceDir)
    {
        if (!File.Exists(sourceMapPath))
        {
            throw BuildFailed("the bundler wrote no source map, so the build's inputs cannot be checked");
        }

        using var map = JsonDocument.Parse(File.ReadAllBytes(sourceMapPath));
        if (!map.RootElement.TryGetProperty("sources", out var sources))
        {
            return;
        }

        var allowed = new[] { sourceDir + Path.DirectorySeparatorChar, DenoCache + Path.DirectorySeparatorChar };
        foreach (var source in sources.EnumerateArray())
        {
            var text = source.GetString() ?? "";
            if (text.Contains("://", StringComparison.Ordinal))
            {
                continue; // A URL the bundler fetched (e.g. https:), not a local file.
            }

            var full = Path.GetFullPath(Path.Combine(outDir, text));
            if (!allowed.Any(prefix => full.StartsWith(prefix, StringComparison.Ordinal)))
            {
                throw BuildFailed($"the code imports {full}, a file outside the function's own sources; only the function's files, npm:, node:, jsr: and https: modules can be imported");
            }
        }
    }

    /// <summary>Turns Deno's error output into "index.ts:3:7: SyntaxError: ..." with paths relative to the function.</summary>
    internal static string DescribeFailure(string output, string sourceDir)
    {
        var lines = output.Split('\n').Select(line => line.TrimEnd()).ToList();
        var message = lines.FirstOrDefault(line => line.StartsWith("error: ", StringComparison.Ordinal) && line != "error: bundling failed");
        message = message is null ? "deno bundle failed: " + string.Join(' ', lines.Where(l => l.Length > 0).Take(5)) : message["error: ".Length..];
        // Paths inside the scratch folder mean nothing to the user; show them relative to the function.
        message = message.Replace("file://" + sourceDir + "/", "", StringComparison.Ordinal).Replace(sourceDir + "/", "", StringComparison.Ordinal);
        foreach (var line in lines)
        {
            var match = Location().Match(line);
            if (!match.Success)
            {
                continue;
            }

            var path = Uri.UnescapeDataString(match.Groups["path"].Value);
            var prefix = sourceDir + "/";
            var shown = path.StartsWith(prefix, StringComparison.Ordinal) ? path[prefix.Length..] : path;
            return $"{shown}:{match.Groups["line"].Value}:{match.Groups["col"].Value}: {message}";
        }

        return message;
    }

    private static ApiException BuildFailed(string message) =>
        new(422, ErrorCodes.BuildFailed, "build failed: " + message) { Field = "code" };

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

    [GeneratedRegex(@"at file://(?<path>/[^\s]*?):(?<line>\d+):(?<col>\d+)")]
    private static partial Regex Location();

    [LoggerMessage(Level = LogLevel.Information, Message = "Built {Function}: {Bytes} bytes in {Milliseconds} ms")]
    private static partial void LogBuilt(ILogger logger, string function, int bytes, long milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove build scratch folder {Path}: {Reason}")]
    private static partial void LogCleanupFailed(ILogger logger, string path, string reason);
}
