using Isola.Host.Hosting;
using Isola.Host.Hosting.Settings;

namespace Isola.Host;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage());
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            return args[0] switch
            {
                "serve" => await ServeAsync(args[1..]),
                "protocol-commands" => PrintProtocolCommands(),
                _ => Fail($"unknown command '{args[0]}'\n\n{Usage()}", 2),
            };
        }
        catch (StartupException ex)
        {
            return Fail(ex.Message, 1);
        }
        catch (ArgumentException ex)
        {
            return Fail($"{ex.Message}\n\n{Usage()}", 2);
        }
    }

    /// <summary>The help text; its flags and variables come from the settings list, so it cannot name one that does not exist.</summary>
    private static string Usage()
    {
        var flags = IsolaSettings.All.Where(setting => setting.Flag is not null).ToList();
        var width = flags.Max(setting => setting.Flag!.Length);
        var text = new System.Text.StringBuilder($"Usage: isola serve {string.Join(' ', flags.Select(setting => $"[{setting.Flag}]"))}\n\n");
        text.Append("  serve     start a node: embedded PostgreSQL (unless ISOLA_DATABASE_URL is set), the API and the gateway\n");
        foreach (var setting in flags)
        {
            text.Append($"    {setting.Flag!.PadRight(width)}  default {setting.DefaultText.Replace("`", "", StringComparison.Ordinal)}, or {setting.Variable}\n");
        }

        text.Append("\nSettings (flags win over variables; docs/running.md explains each):\n ");
        var column = 1;
        foreach (var name in IsolaSettings.All.Where(setting => setting.Flag is null).Select(setting => setting.Variable))
        {
            if (column + name.Length + 1 > 100)
            {
                text.Append("\n ");
                column = 1;
            }

            text.Append(' ').Append(name);
            column += name.Length + 1;
        }

        return text.ToString();
    }

    private static async Task<int> ServeAsync(string[] args)
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!IsolaSettings.All.Any(setting => setting.FlagName == args[i]))
            {
                throw new ArgumentException($"unknown option '{args[i]}' for serve");
            }

            flags[args[i]] = ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value");
        }

        foreach (var unknown in IsolaSettings.UnknownInEnvironment())
        {
            // A typo would otherwise be silently ignored; not fatal, as other tools may share the prefix.
            Console.Error.WriteLine($"isola: ignoring {unknown}: no such setting (docs/running.md lists them)");
        }

        var options = IsolaSettings.FromEnvironment(flags);
        InlineIo.Apply(options.InlineIo);

        await using var server = await IsolaServer.StartAsync(options, options.LogLevel, CancellationToken.None);
        Console.WriteLine($"Isola is serving on {server.Url.ToString().TrimEnd('/')}");
        Console.WriteLine(server.AdminKey switch
        {
            { Created: true } key => $"Admin API key (saved in {key.File}): {key.Key}",
            { File: { } file } => $"Admin API key: in {file}",
            _ => "Admin API key: the one given in ISOLA_ADMIN_KEY",
        });
        await server.WaitForShutdownAsync();
        if (server.FatalError is { } fatal)
        {
            // Non-zero so systemd, Kubernetes or a shell loop starts the node again.
            return Fail(fatal, 3);
        }

        return 0;
    }

    /// <summary>
    /// Not for users: the exact <c>deno</c> arguments the host bundles a function and starts a worker with, as JSON
    /// with <c>{placeholders}</c>, so the runtime's test harness (runtime/test/harness.ts) runs what the host runs
    /// instead of a copy that could drift. The worker is shown without the node's sandbox wrapper and with private
    /// addresses allowed, as the harness's tests talk to servers on loopback.
    /// </summary>
    private static int PrintProtocolCommands()
    {
        const int memorySentinel = 987_654, portSentinel = 65_001;
        var launch = new Workers.WorkerLaunch("deno", new Lazy<string>("{bootstrap}"), "/nonexistent", "/nonexistent",
            Workers.Sandbox.WorkerSandbox.Detect(isRoot: false, Workers.Sandbox.WorkerSandbox.DefaultTmpLimitMb, allowed: false));
        var worker = launch.Arguments("{workerDir}", memorySentinel, portSentinel, allowPrivate: true)
            .Select(argument => argument.Replace(memorySentinel.ToString(System.Globalization.CultureInfo.InvariantCulture), "{memoryMb}", StringComparison.Ordinal)
                .Replace(portSentinel.ToString(System.Globalization.CultureInfo.InvariantCulture), "{hostPort}", StringComparison.Ordinal));
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["bundle"] = new System.Text.Json.Nodes.JsonArray([.. Build.FunctionBuilder.BundleArguments("{output}", "{entrypoint}", importMap: false).Select(a => System.Text.Json.Nodes.JsonValue.Create(a))]),
            ["worker"] = new System.Text.Json.Nodes.JsonArray([.. worker.Select(a => System.Text.Json.Nodes.JsonValue.Create(a))]),
            ["workerEnv"] = new System.Text.Json.Nodes.JsonObject(launch.Environment("{workerDir}").Select(pair =>
                KeyValuePair.Create(pair.Key, (System.Text.Json.Nodes.JsonNode?)System.Text.Json.Nodes.JsonValue.Create(pair.Value)))),
        };
        Console.WriteLine(json.ToJsonString());
        return 0;
    }

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"isola: {message}");
        return code;
    }
}
