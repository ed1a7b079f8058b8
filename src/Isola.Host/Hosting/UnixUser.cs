using System.Runtime.InteropServices;

namespace Isola.Host.Hosting;

/// <summary>
/// The few POSIX calls .NET has no API for: whether we are root, who an OS user is, and chown.
/// Needed because PostgreSQL refuses to run as root, so the embedded cluster runs as another user.
/// </summary>
internal static partial class UnixUser
{
    public static bool IsRoot => geteuid() == 0;

    /// <summary>Looks up a user's uid and gid; null if the user does not exist.</summary>
    public static (uint Uid, uint Gid)? Find(string name)
    {
        var entry = getpwnam(name);
        if (entry == IntPtr.Zero)
        {
            return null;
        }

        var passwd = Marshal.PtrToStructure<Passwd>(entry);
        return (passwd.Uid, passwd.Gid);
    }

    /// <summary>Changes the owner of one path (not recursive); throws with the errno on failure.</summary>
    public static void Chown(string path, uint uid, uint gid)
    {
        if (chown(path, uid, gid) != 0)
        {
            throw new IOException($"chown {path} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    public static void ChownRecursive(string path, uint uid, uint gid)
    {
        Chown(path, uid, gid);
        if (!Directory.Exists(path))
        {
            return;
        }

        foreach (var entry in Directory.EnumerateFileSystemEntries(path, "*", SearchOption.AllDirectories))
        {
            Chown(entry, uid, gid);
        }
    }

    /// <summary>
    /// Adds the search (o+x) bit to every ancestor of <paramref name="path"/> that lacks it, so another
    /// OS user can walk down to it (e.g. a clone under /root). Never adds read; reports each change.
    /// </summary>
    public static void MakeAncestorsSearchable(string path, Action<string> changed)
    {
        for (var dir = Path.GetDirectoryName(Path.GetFullPath(path)); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            var mode = File.GetUnixFileMode(dir);
            if ((mode & UnixFileMode.OtherExecute) == 0)
            {
                File.SetUnixFileMode(dir, mode | UnixFileMode.OtherExecute);
                changed(dir);
            }
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Passwd
    {
        public IntPtr Name;
        public IntPtr Password;
        public uint Uid;
        public uint Gid;
        public IntPtr Gecos;
        public IntPtr Dir;
        public IntPtr Shell;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial uint geteuid();

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr getpwnam(string name);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chown(string path, uint owner, uint group);
}
