using Isola.Host.Hosting;

namespace Isola.Host;

internal static class Program
{
    private const string Usage = """
        Usage: isola serve [--port N] [--data-dir DIR] [--worker-tmp-mb N]

          serve     start a node: embedded PostgreSQL (unless ISOLA_DATABASE_URL is set), the API and the gateway
            --port N        port on 127.0.0.1 (default 8787, or ISOLA_PORT; 0 picks a free port)
            --data-dir DIR  state folder (default ./.isola, or ISOLA_DATA_DIR)
            --worker-tmp-mb N  size of each worker's private /tmp in MB (default 512, or ISOLA_WORKER_TMP_MB)

        Environment: ISOLA_DATABASE_URL, ISOLA_MASTER_KEY, ISOLA_ADMIN_KEY, ISOLA_DENO, ISOLA_BIND, ISOLA_PUBLIC_URL, ISOLA_LOG_LEVEL,
          ISOLA_PG_RESTART_ATTEMPTS (restarts of a dead embedded PostgreSQL before the node exits with code 3; default 5)
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            return args[0] switch
            {
                "serve" => await ServeAsync(args[1..]),
                _ => Fail($"unknown command '{args[0]}'\n\n{Usage}", 2),
            };
        }
        catch (StartupException ex)
        {
            return Fail(ex.Message, 1);
        }
        catch (ArgumentException ex)
        {
            return Fail($"{ex.Message}\n\n{Usage}", 2);
        }
    }

    private static async Task<int> ServeAsync(string[] args)
    {
        var port = ParsePort(Environment.GetEnvironmentVariable("ISOLA_PORT"), "ISOLA_PORT") ?? IsolaOptions.DefaultPort;
        var dataDir = Environment.GetEnvironmentVariable("ISOLA_DATA_DIR") is { Length: > 0 } envDir ? envDir : ".isola";
        int? tmpLimitMb = null;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--port":
                    port = ParsePort(Next(args, ref i), "--port")!.Value;
                    break;
                case "--data-dir":
                    dataDir = Next(args, ref i);
                    break;
                case "--worker-tmp-mb":
                    tmpLimitMb = IsolaOptions.ParseTmpLimit(Next(args, ref i), "--worker-tmp-mb");
                    break;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}' for serve");
            }
        }

        var options = IsolaOptions.FromEnvironment(dataDir) with { Port = port };
        if (tmpLimitMb is { } mb)
        {
            options = options with { Workers = options.Workers with { TmpLimitMb = mb } };
        }

        var level = Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("ISOLA_LOG_LEVEL"), ignoreCase: true, out var parsed)
            ? parsed
            : LogLevel.Information;
        await using var server = await IsolaServer.StartAsync(options, level, CancellationToken.None);
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

    private static string Next(string[] args, ref int i) =>
        ++i < args.Length ? args[i] : throw new ArgumentException($"{args[i - 1]} needs a value");

    private static int? ParsePort(string? text, string source)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        return int.TryParse(text, out var port) && port is >= 0 and <= 65535
            ? port
            : throw new ArgumentException($"{source} must be a port number from 0 to 65535 (got '{text}')");
    }

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine($"isola: {message}");
        return code;
    }
}
