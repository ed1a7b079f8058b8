namespace Isola.Host.Hosting;

/// <summary>
/// Holds an exclusive lock on <c>&lt;data-dir&gt;/isola.lock</c> for the life of the node, so a second
/// node on the same data dir fails fast. The kernel drops the lock when the process dies, so a killed
/// host never leaves it behind. The <c>isola</c> script checks the same lock with <c>flock</c>.
/// </summary>
internal sealed class DataDirectoryLock : IDisposable
{
    private readonly FileStream _stream;

    private DataDirectoryLock(FileStream stream) => _stream = stream;

    public static DataDirectoryLock Acquire(string dataDir)
    {
        var path = Path.Combine(dataDir, "isola.lock");
        try
        {
            // FileShare.None takes flock(LOCK_EX | LOCK_NB) on Linux.
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            stream.SetLength(0);
            var pid = System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId + "\n");
            stream.Write(pid);
            stream.Flush();
            return new DataDirectoryLock(stream);
        }
        catch (IOException)
        {
            var holder = TryReadHolder(path);
            throw new StartupException(
                $"another isola node is already serving the data dir {dataDir}{holder}; stop it first or pass a different --data-dir");
        }
    }

    private static string TryReadHolder(string path)
    {
        try
        {
            using var reader = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var text = new StreamReader(reader);
            var pid = text.ReadLine()?.Trim();
            return string.IsNullOrEmpty(pid) ? "" : $" (pid {pid})";
        }
        catch (IOException)
        {
            return "";
        }
    }

    public void Dispose() => _stream.Dispose();
}
