using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Isola.Host.Tests.Infrastructure;

/// <summary>
/// <c>isola serve</c> as a separate OS process, for what only a real process shows: signals,
/// SIGKILL recovery, the data dir lock and the messages a user reads.
/// </summary>
internal sealed partial class IsolaProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private Uri? _url;

    private IsolaProcess(Process process) => _process = process;

    public Uri Url => _ready.Task.Result;

    public int Pid => _process.Id;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts <c>dotnet isola.dll serve --port 0 --data-dir <paramref name="dataDir"/></c>; does not wait for readiness.</summary>
    public static IsolaProcess Start(string dataDir, IDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { TestEnvironment.HostDll, "serve", "--port", "0", "--data-dir", dataDir })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["ISOLA_DENO"] = TestEnvironment.DenoPath;
        info.Environment["ISOLA_DENO_DIR"] = TestEnvironment.SharedDenoCache;
        info.Environment.Remove("ISOLA_DATABASE_URL");
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var isola = new IsolaProcess(process);
        process.OutputDataReceived += (_, e) => isola.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => isola.OnLine(e.Data);
        process.Exited += (_, _) => isola._ready.TrySetException(new InvalidOperationException("isola exited before it was ready:\n" + isola.Output));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return isola;
    }

    /// <summary>Waits for the start banner ("Isola is serving on ...", then the admin key line).</summary>
    public async Task<Uri> WaitReadyAsync(TimeSpan? timeout = null) =>
        await _ready.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(90));

    public async Task<int> WaitForExitAsync(TimeSpan? timeout = null)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: the host gets no chance to stop its PostgreSQL.</summary>
    public async Task KillHardAsync()
    {
        _process.Kill(entireProcessTree: false);
        await WaitForExitAsync();
    }

    /// <summary>SIGTERM, as Kubernetes or systemd stop a node; returns the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        if (!_process.HasExited)
        {
            _ = kill(_process.Id, 15);
        }

        return await WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await TerminateAsync();
        }

        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (Isola.Cli.Dev.NodeBanner.Read(line, ref _url) is { } ready)
        {
            _ready.TrySetResult(ready);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
