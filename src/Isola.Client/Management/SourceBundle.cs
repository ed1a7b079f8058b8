using System.Formats.Tar;
using System.IO.Compression;

namespace Isola.Client;

/// <summary>Packs a function's files into the .tar.gz a multipart deploy carries as its <c>bundle</c> part.</summary>
internal static class SourceBundle
{
    public static byte[] Pack(IDictionary<string, byte[]> files)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax, leaveOpen: true))
        {
            // Sorted, with fixed times: the same files always make the same bytes.
            foreach (var (path, bytes) in files.OrderBy(file => file.Key, StringComparer.Ordinal))
            {
                var entry = new PaxTarEntry(TarEntryType.RegularFile, path)
                {
                    DataStream = new MemoryStream(bytes, writable: false),
                    ModificationTime = DateTimeOffset.UnixEpoch,
                    Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                };
                tar.WriteEntry(entry);
            }
        }

        return buffer.ToArray();
    }
}
