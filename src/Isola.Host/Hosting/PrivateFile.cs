namespace Isola.Host.Hosting;

/// <summary>Writes a file that only its owner may read (mode 0600), created with that mode so it is never briefly world-readable.</summary>
internal static class PrivateFile
{
    public static void Write(string path, string content)
    {
        var options = new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var stream = new FileStream(path, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }

        // UnixCreateMode only applies to new files; an existing file keeps its mode otherwise.
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }
}
