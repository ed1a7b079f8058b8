using System.Threading.Channels;
using Isola.Cli.Project;

namespace Isola.Cli.Dev;

/// <summary>
/// Watches a project folder (inotify through <see cref="FileSystemWatcher"/>) and hands out which functions a burst
/// of saves touched. A burst ends after <see cref="Quiet"/> without a change: an editor's save is often several
/// events (a temporary file, a rename, a chmod), and one redeploy should follow it, not three.
/// </summary>
internal sealed class ProjectWatcher : IDisposable
{
    /// <summary>How long after the last event a burst is taken as complete; short, as it adds to every reload.</summary>
    public static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(25);

    /// <summary>What a change names when it is not one function's: <c>_shared/</c> or the config file concerns them all.</summary>
    public const string All = "*";

    private readonly ProjectFolder _project;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly Channel<string> _changed = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    public ProjectWatcher(ProjectFolder project)
    {
        _project = project;
        Directory.CreateDirectory(project.FunctionsDir);
        var functions = new FileSystemWatcher(project.FunctionsDir) { IncludeSubdirectories = true, InternalBufferSize = 64 * 1024 };
        var config = new FileSystemWatcher(Path.GetDirectoryName(project.ConfigPath)!, Path.GetFileName(project.ConfigPath));
        foreach (var watcher in new[] { functions, config })
        {
            watcher.NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size;
            watcher.Changed += (_, e) => OnEvent(e.FullPath);
            watcher.Created += (_, e) => OnEvent(e.FullPath);
            watcher.Deleted += (_, e) => OnEvent(e.FullPath);
            watcher.Renamed += (_, e) =>
            {
                OnEvent(e.OldFullPath);
                OnEvent(e.FullPath);
            };
            // Too many events at once (a git checkout): reload everything rather than miss one.
            watcher.Error += (_, _) => _changed.Writer.TryWrite(All);
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }
    }

    /// <summary>The function names the next burst of changes touched (<see cref="All"/> among them for shared files).</summary>
    public async Task<HashSet<string>> NextAsync(CancellationToken cancellationToken)
    {
        var names = new HashSet<string>(StringComparer.Ordinal) { await _changed.Reader.ReadAsync(cancellationToken) };
        while (true)
        {
            using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            quiet.CancelAfter(Quiet);
            try
            {
                names.Add(await _changed.Reader.ReadAsync(quiet.Token));
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return names;
            }
        }
    }

    private void OnEvent(string path)
    {
        if (string.Equals(path, _project.ConfigPath, StringComparison.Ordinal))
        {
            _changed.Writer.TryWrite(All);
            return;
        }

        var relative = Path.GetRelativePath(_project.FunctionsDir, path).Replace('\\', '/');
        var segments = relative.Split('/');
        // A file right in functions/ belongs to no function; hidden files and node_modules are never deployed.
        if (relative.StartsWith("../", StringComparison.Ordinal) || (segments.Length < 2 && !Directory.Exists(path)) ||
            segments.Any(segment => segment.StartsWith('.') || segment == "node_modules"))
        {
            return;
        }

        _changed.Writer.TryWrite(segments[0].StartsWith('_') ? All : segments[0]);
    }

    public void Dispose()
    {
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }

        _changed.Writer.TryComplete();
    }
}
