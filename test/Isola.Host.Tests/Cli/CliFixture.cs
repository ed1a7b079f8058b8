using System.Diagnostics;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Cli;

/// <summary>
/// A real node in process, and the CLI (<c>isola-cli.dll</c>, built next to the tests) run against it as separate
/// processes from temporary project folders, with the connection in ISOLA_URL / ISOLA_API_KEY and a private
/// config folder (so <c>isola login</c> never touches the real home).
/// </summary>
public sealed class CliFixture : IAsyncLifetime
{
    public static string CliDll { get; } = Path.Combine(AppContext.BaseDirectory, "isola-cli.dll");

    internal TestHost Host { get; private set; } = null!;

    public string ConfigHome { get; } = TestEnvironment.CreateScratch("cli-config");

    public async Task InitializeAsync() => Host = await TestHost.StartAsync();

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        TestEnvironment.DeleteScratch(ConfigHome);
    }

    /// <summary>Runs <c>isola ARGS</c> in <paramref name="workDir"/>; <paramref name="environment"/> values of null remove a variable.</summary>
    internal Task<CliRun> RunAsync(string workDir, string[] args, IDictionary<string, string?>? environment = null, string? stdin = null) =>
        RunProcessAsync("dotnet", [CliDll, .. args], workDir, Environment(environment), stdin);

    public Dictionary<string, string?> Environment(IDictionary<string, string?>? overrides = null)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ISOLA_URL"] = Host.Url.ToString(),
            ["ISOLA_API_KEY"] = Host.Options.AdminKey,
            ["XDG_CONFIG_HOME"] = ConfigHome,
            ["NO_COLOR"] = "1",
        };
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return environment;
    }

    internal static async Task<CliRun> RunProcessAsync(string file, IEnumerable<string> args, string workDir, IDictionary<string, string?> environment, string? stdin = null)
    {
        var info = new ProcessStartInfo(file)
        {
            WorkingDirectory = workDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        using var process = Process.Start(info)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return new CliRun(process.ExitCode, await stdout, await stderr);
    }
}
