using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Isola.Cli.Dev;

/// <summary>
/// The node <c>isola dev</c> runs: the host (<c>isola.dll serve</c>, the same engine as <c>./isola serve</c>) as a
/// child process, with its data dir in the project's <c>.isola/</c>. Its warnings and errors are passed to stderr;
/// it is stopped with SIGTERM (so it stops its PostgreSQL) when dev ends.
/// </summary>
internal sealed partial class DevNode : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(30);

    private readonly Process _process;
    private readonly StringBuilder _banner = new();
    private readonly TaskCompletionSource<Uri> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Uri? _url;

    private DevNode(Process process) => _process = process;

    // Set once the banner was read: from then on the node's lines are passed to stderr.
    private volatile bool _started;

    public Uri Url => _ready.Task.Result;

    /// <summary>The admin key the node wrote into its data dir (or was given in ISOLA_ADMIN_KEY).</summary>
    public string AdminKey { get; private set; } = "";

    /// <summary>Starts the host and waits for its banner; a node that exits first is a <see cref="CliException"/> with what it printed.</summary>
    /// <param name="settings">Settings for the node (ISOLA_* variables) over those of this process.</param>
    /// <param name="defaults">Settings for the node unless this process has them set.</param>
    public static async Task<DevNode> StartAsync(string dataDir, int port, IReadOnlyDictionary<string, string> settings, IReadOnlyDictionary<string, string> defaults,
        CancellationToken cancellationToken)
    {
        var hostDll = Connection.LocalHost.FindDll();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { hostDll, "serve", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--data-dir", dataDir })
        {
            info.ArgumentList.Add(arg);
        }

        // The node's routine lines (started, built …) would drown the functions' output; its warnings still show.
        info.Environment.TryAdd("ISOLA_LOG_LEVEL", "Warning");
        foreach (var (name, value) in defaults)
        {
            info.Environment.TryAdd(name, value);
        }

        foreach (var (name, value) in settings)
        {
            info.Environment[name] = value;
        }


        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var node = new DevNode(process);
        process.OutputDataReceived += (_, e) => node.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => node.OnLine(e.Data);
        process.Exited += (_, _) => node._ready.TrySetException(new CliException("the node stopped before it was ready:\n" + node.Banner()));
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await node._ready.Task.WaitAsync(StartTimeout, cancellationToken);
            var keyFile = Path.Combine(dataDir, "admin.key");
            node.AdminKey = info.Environment.TryGetValue("ISOLA_ADMIN_KEY", out var given) && !string.IsNullOrEmpty(given) ? given
                : File.Exists(keyFile) ? (await File.ReadAllTextAsync(keyFile, cancellationToken)).Trim()
                : throw new CliException($"the node started but wrote no {keyFile}");
            node._started = true;
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the node (SIGTERM, then SIGKILL past <see cref="StopTimeout"/>); never throws.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _ = kill(_process.Id, 15);
                using var timeout = new CancellationTokenSource(StopTimeout);
                try
                {
                    await _process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already gone.
        }

        _process.Dispose();
    }

    private string Banner()
    {
        lock (_banner)
        {
            return _banner.ToString().TrimEnd();
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        if (_started)
        {
            Output.Terminal.Error("node: " + line);
            return;
        }

        lock (_banner)
        {
            _banner.AppendLine(line);
        }

        if (Isola.Cli.Dev.NodeBanner.Read(line, ref _url) is { } ready)
        {
            _ready.TrySetResult(ready);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
