using System.Security.Cryptography;
using Isola.Host.Functions;
using Isola.Host.Secrets;
using Isola.Host.Tests.Infrastructure;
using Isola.Host.Workers;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Isola.Host.Tests.Workers;

/// <summary>
/// Workers that are test/fixtures/fake-worker instead of the Deno runtime, started through the real
/// <see cref="WorkerLaunch"/> and <see cref="WorkerProcess"/> (same sandbox flags, same socket, same
/// control calls), with a supervisor and its pools around them. No database, no Kestrel: a test
/// names a fault in the function's bundle and watches the pool meet it.
/// </summary>
internal sealed class FakeWorkers : IWorkerOutput, IAsyncDisposable
{
    public static readonly string Script = Path.Combine(TestEnvironment.RepoRoot, "test", "fixtures", "fake-worker", "main.ts");
    public static readonly string NeverReadyScript = Path.Combine(TestEnvironment.RepoRoot, "test", "fixtures", "fake-worker", "never-ready.ts");

    private readonly string _root = TestEnvironment.CreateScratch("fake");
    private readonly NpgsqlDataSource _nowhere = NpgsqlDataSource.Create("Host=/nonexistent;Database=none");

    public FakeWorkers(WorkerOptions? options = null, string? script = null)
    {
        Options = options ?? new WorkerOptions { Prestarted = 0, LoadTimeout = TimeSpan.FromSeconds(10) };
        Launch = new WorkerLaunch(TestEnvironment.DenoPath, new Lazy<string>(script ?? Script), Path.Combine(_root, "w"), TestEnvironment.SharedDenoCache);
        // The store and registry are never reached: functions here have no files and the pools are driven directly.
        Supervisor = new WorkerSupervisor(Options, Launch, new ArtifactCache(_nowhere, Path.Combine(_root, "artifacts")),
            new SecretBox(RandomNumberGenerator.GetBytes(32)), this, new DeployedFunctionCache(_nowhere), new FunctionChanges(), new FunctionStore(_nowhere),
            TimeProvider.System, NullLogger<WorkerSupervisor>.Instance,
            new Isola.Host.Workers.Calls.HostCallDispatcher(new Isola.Host.Workers.Calls.InvocationCapabilities(TimeProvider.System), []),
            new Isola.Host.Workers.Calls.HostCallOptions());
    }

    public WorkerOptions Options { get; }

    public WorkerLaunch Launch { get; }

    public WorkerSupervisor Supervisor { get; }

    /// <summary>A function whose bundle tells the fake worker how to behave, e.g. <c>"invoke=crash-mid-response"</c>.</summary>
    public DeployedFunction Function(string behaviour, int timeoutMs = 5_000)
    {
        var hash = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(behaviour + Guid.NewGuid())));
        Directory.CreateDirectory(Path.Combine(_root, "artifacts"));
        File.WriteAllText(Path.Combine(_root, "artifacts", hash.Replace(':', '-') + ".mjs"), $"// fake-worker[{behaviour}]\n");
        return new DeployedFunction(Guid.NewGuid(), "default", "fake", 1, new FunctionSettings { TimeoutMs = timeoutMs }, hash,
            new Dictionary<string, string>(), HasFiles: false);
    }

    /// <summary>An invocation as the gateway forwards it: absolute target, envelope headers.</summary>
    public static HttpRequestMessage Invocation(string path = "/fake") => new(HttpMethod.Get, "http://worker" + path)
    {
        Headers =
        {
            { "x-isola-invocation-id", Guid.NewGuid().ToString("N") },
            { "x-isola-origin", "http://127.0.0.1" },
            { "x-isola-subpath", "" },
            { "x-isola-deadline", DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture) },
            { "x-isola-caller", """{"kind":"anon","user":null}""" },
        },
    };

    public void OnLog(string workerId, string? invocationId, string level, string message, DateTimeOffset timestamp)
    {
    }

    public async ValueTask DisposeAsync()
    {
        await Supervisor.DisposeAsync();
        await _nowhere.DisposeAsync();
        TestEnvironment.DeleteScratch(_root);
    }
}
