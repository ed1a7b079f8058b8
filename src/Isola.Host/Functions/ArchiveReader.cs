using System.Formats.Tar;
using System.IO.Compression;
using Isola.Host.Errors;

namespace Isola.Host.Functions;

/// <summary>
/// Unpacks an uploaded <c>.tar.gz</c>, <c>.tar</c> or <c>.zip</c> function bundle into memory, refusing
/// links, devices, paths that leave the function folder, and more than <c>maxBytes</c> unpacked
/// (a small archive may expand enormously). A single top-level folder is stripped.
/// </summary>
internal static class ArchiveReader
{
    /// <summary>
    /// Largest pax (<c>x</c>, <c>g</c>) or GNU long-name (<c>L</c>, <c>K</c>) header entry. Far above any real
    /// one (they hold a path and a few times), and the bound that matters: <see cref="TarReader"/> takes such
    /// an entry whole into one buffer before reading it, so its declared size is checked before TarReader sees it.
    /// </summary>
    public const int MaxMetadataEntryBytes = 64 * 1024;

    /// <summary>What a tar stream may hold beyond its files' contents: a header and padding per entry, pax headers.</summary>
    public const long HeaderAllowanceBytes = 4L * 1024 * 1024;

    private const string Field = "bundle";

    public static Dictionary<string, byte[]> Read(byte[] archive, long maxBytes)
    {
        var entries = IsZip(archive) ? ReadZip(archive, maxBytes)
            : IsGzip(archive) ? ReadTar(() => new GZipStream(new MemoryStream(archive), CompressionMode.Decompress), maxBytes)
            : IsTar(archive) ? ReadTar(() => new MemoryStream(archive), maxBytes)
            : throw IsolaException.InvalidField(Field, "is not a .tar.gz, .tar or .zip archive");
        if (entries.Count == 0)
        {
            throw IsolaException.InvalidField(Field, "holds no files");
        }

        return StripCommonFolder(entries);
    }

    private static List<(string Path, byte[] Bytes)> ReadZip(byte[] archive, long maxBytes)
    {
        var entries = new List<(string, byte[])>();
        long total = 0;
        try
        {
            using var zip = new ZipArchive(new MemoryStream(archive), ZipArchiveMode.Read);
            foreach (var entry in zip.Entries)
            {
                if (entry.FullName.EndsWith('/'))
                {
                    continue; // a folder
                }

                // Unix mode bits live in the high half of ExternalAttributes; 0xA000 is a symlink.
                if (((entry.ExternalAttributes >> 16) & 0xF000) == 0xA000)
                {
                    throw IsolaException.InvalidField(Field, $"holds a symbolic link ({entry.FullName}); links are not allowed");
                }

                total += entry.Length;
                CheckLimits(entries.Count + 1, total, maxBytes);
                using var stream = entry.Open();
                entries.Add((entry.FullName, ReadAll(stream, entry.Length, maxBytes)));
            }
        }
        catch (InvalidDataException ex)
        {
            throw IsolaException.InvalidField(Field, "is a damaged zip archive: " + ex.Message);
        }

        return entries;
    }

    /// <summary>
    /// Reads a tar stream twice, each time through a hard cap on everything decompressed: once to check every
    /// header's declared size without buffering anything, then with <see cref="TarReader"/>.
    /// </summary>
    private static List<(string Path, byte[] Bytes)> ReadTar(Func<Stream> open, long maxBytes)
    {
        var entries = new List<(string, byte[])>();
        var cap = maxBytes + HeaderAllowanceBytes;
        long total = 0;
        try
        {
            using (var scan = new CappedReadStream(open(), cap, Field))
            {
                CheckHeaders(scan);
            }

            using var stream = new CappedReadStream(open(), cap, Field);
            using var reader = new TarReader(stream);
            while (reader.GetNextEntry() is { } entry)
            {
                switch (entry.EntryType)
                {
                    case TarEntryType.Directory:
                    case TarEntryType.GlobalExtendedAttributes:
                    case TarEntryType.ExtendedAttributes:
                        continue;
                    case TarEntryType.RegularFile:
                    case TarEntryType.V7RegularFile:
                    case TarEntryType.ContiguousFile:
                        break;
                    default:
                        throw IsolaException.InvalidField(Field, $"holds {entry.EntryType} entry '{entry.Name}'; only regular files and folders are allowed");
                }

                total += entry.Length;
                CheckLimits(entries.Count + 1, total, maxBytes);
                entries.Add((entry.Name, entry.DataStream is null ? [] : ReadAll(entry.DataStream, entry.Length, maxBytes)));
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException)
        {
            throw IsolaException.InvalidField(Field, "is a damaged archive: " + ex.Message);
        }

        return entries;
    }

    /// <summary>
    /// Walks the 512-byte header blocks, skipping each entry's data, and refuses a metadata entry larger than
    /// <see cref="MaxMetadataEntryBytes"/>. Anything it cannot make sense of is left for TarReader to report.
    /// </summary>
    private static void CheckHeaders(Stream tar)
    {
        var block = new byte[512];
        var discard = new byte[64 * 1024];
        while (tar.ReadAtLeast(block, block.Length, throwOnEndOfStream: false) == block.Length && block.AsSpan().ContainsAnyExcept((byte)0))
        {
            if (!TryReadSize(block, out var size))
            {
                return;
            }

            var type = (char)block[156];
            if (type is 'x' or 'g' or 'L' or 'K' && size > MaxMetadataEntryBytes)
            {
                var kind = type is 'x' or 'g' ? "pax" : "GNU long-name";
                throw new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge,
                    $"the bundle holds a {kind} header of {size} bytes; the limit for one is {MaxMetadataEntryBytes} bytes") { Field = Field };
            }

            // Data is padded to whole blocks. A huge declared size runs into the stream's cap here.
            for (var left = (size + 511) / 512 * 512; left > 0;)
            {
                var read = tar.Read(discard, 0, (int)Math.Min(left, discard.Length));
                if (read == 0)
                {
                    return;
                }

                left -= read;
            }
        }
    }

    /// <summary>The size field (offset 124, 12 bytes): octal digits, or base-256 when the top bit of its first byte is set.</summary>
    private static bool TryReadSize(ReadOnlySpan<byte> header, out long size)
    {
        var field = header.Slice(124, 12);
        size = 0;
        if ((field[0] & 0x80) != 0)
        {
            foreach (var b in field[1..])
            {
                if (size > (long.MaxValue >> 8))
                {
                    size = long.MaxValue;
                    return true;
                }

                size = (size << 8) | b;
            }

            return (field[0] & 0x40) == 0; // negative sizes are damage
        }

        var digits = field.TrimStart((byte)' ').TrimStart((byte)0);
        foreach (var b in digits)
        {
            if (b is (byte)' ' or 0)
            {
                break;
            }

            if (b is < (byte)'0' or > (byte)'7')
            {
                return false;
            }

            size = (size * 8) + (b - '0');
        }

        return true;
    }

    private static void CheckLimits(int count, long total, long maxBytes)
    {
        if (count > SourcePaths.MaxFiles)
        {
            throw IsolaException.InvalidField(Field, $"holds more than {SourcePaths.MaxFiles} files");
        }

        if (total > maxBytes)
        {
            throw new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, $"the bundle unpacks to more than {maxBytes} bytes") { Field = Field };
        }
    }

    private static byte[] ReadAll(Stream stream, long declared, long maxBytes)
    {
        using var buffer = new MemoryStream((int)Math.Min(Math.Max(declared, 0), maxBytes));
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, $"the bundle unpacks to more than {maxBytes} bytes") { Field = Field };
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private static Dictionary<string, byte[]> StripCommonFolder(List<(string Path, byte[] Bytes)> entries)
    {
        var cleaned = entries.Select(e => (Path: e.Path.StartsWith("./", StringComparison.Ordinal) ? e.Path[2..] : e.Path, e.Bytes)).ToList();
        var firstSegments = cleaned.Select(e => e.Path.Split('/')[0]).Distinct().ToList();
        var strip = firstSegments.Count == 1 && cleaned.All(e => e.Path.Contains('/', StringComparison.Ordinal));
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var (path, bytes) in cleaned)
        {
            var relative = strip ? path[(path.IndexOf('/', StringComparison.Ordinal) + 1)..] : path;
            var normalized = SourcePaths.Normalize(relative, $"{Field}:{path}");
            if (!files.TryAdd(normalized, bytes))
            {
                throw IsolaException.InvalidField(Field, $"holds '{normalized}' twice");
            }
        }

        return files;
    }

    private static bool IsZip(byte[] b) => b.Length >= 4 && b[0] == 'P' && b[1] == 'K' && b[2] is 3 or 5;

    private static bool IsGzip(byte[] b) => b.Length >= 2 && b[0] == 0x1f && b[1] == 0x8b;

    // POSIX tar has "ustar" at offset 257.
    private static bool IsTar(byte[] b) => b.Length >= 262 && b[257] == 'u' && b[258] == 's' && b[259] == 't' && b[260] == 'a' && b[261] == 'r';
}
