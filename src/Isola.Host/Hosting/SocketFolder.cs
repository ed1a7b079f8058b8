using System.Security.Cryptography;
using System.Text;

namespace Isola.Host.Hosting;

/// <summary>
/// Unix socket paths are limited to 107 bytes. A folder that will hold sockets stays in the data dir
/// when its longest socket path fits, else moves to /tmp under a name derived from the data dir, so
/// every start of the same node finds the same place.
/// </summary>
internal static class SocketFolder
{
    /// <param name="preferred">The folder inside the data dir.</param>
    /// <param name="longestSocket">The longest socket path, relative to the folder, that will be bound in it.</param>
    public static string Choose(string dataDir, string preferred, string longestSocket, string prefix)
    {
        if (Path.Combine(preferred, longestSocket).Length < 100)
        {
            return preferred;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(dataDir)))[..16];
        return Path.Combine(Path.GetTempPath(), prefix + hash);
    }
}
