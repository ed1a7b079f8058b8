using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Cli;

/// <summary><c>isola dev</c> running as its own process (which starts its node as another), with what it prints kept line by line.</summary>
internal sealed class DevSession : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private DevSession(Process process) => _process = process;

    public static DevSession Start(string projectDir, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = projectDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { CliFixture.CliDll, "dev", "--port", "0" }.Concat(args))
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["ISOLA_DENO"] = TestEnvironment.DenoPath;
        info.Environment["ISOLA_DENO_DIR"] = TestEnvironment.SharedDenoCache;
        info.Environment["NO_COLOR"] = "1";
        foreach (var name in new[] { "ISOLA_DATABASE_URL", "ISOLA_URL", "ISOLA_API_KEY", "ISOLA_HOST_DLL" })
        {
            info.Environment.Remove(name);
        }

        var process = new Process { StartInfo = info };
        var session = new DevSession(process);
        process.OutputDataReceived += (_, e) => Append(session._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => Append(session._stderr, e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return session;
    }

    public string Stdout => Read(_stdout);

    public string Stderr => Read(_stderr);

    public override string ToString() => $"--- stdout\n{Stdout}\n--- stderr\n{Stderr}";

    /// <summary>Waits until <paramref name="text"/> was printed on stdout or stderr (bounded), failing with everything printed.</summary>
    public async Task WaitForAsync(string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(120));
        while (!Stdout.Contains(text, StringComparison.Ordinal) && !Stderr.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline && !_process.HasExited, $"'{text}' was not printed:\n{this}");
            await Task.Delay(50);
        }
    }

    public async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return _process.ExitCode;
    }

    /// <summary>SIGINT, as Ctrl+C sends; returns the exit code.</summary>
    public async Task<int> InterruptAsync()
    {
        if (!_process.HasExited)
        {
            _ = kill(_process.Id, 2);
        }

        return await WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await InterruptAsync();
        }

        _process.Dispose();
    }

    private static void Append(StringBuilder text, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (text)
        {
            text.AppendLine(line);
        }
    }

    private static string Read(StringBuilder text)
    {
        lock (text)
        {
            return text.ToString();
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);
}
