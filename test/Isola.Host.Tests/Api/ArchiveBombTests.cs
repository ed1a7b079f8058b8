using System.IO.Compression;
using System.Text;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Api;

/// <summary>
/// Archives whose decompressed stream is far larger than their files say: a pax header bomb (a 300 MB
/// header in a few hundred KB of gzip) and a flood of header-only entries. Both are refused before the
/// host reads (or buffers) more than the cap.
/// </summary>
public sealed class ArchiveBombTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private const string Code = "export default () => new Response('ok');\n";
    private const long PaxBytes = 300L * 1024 * 1024;

    private static readonly Lazy<byte[]> PaxBomb = new(() => BuildPaxBomb(PaxBytes));

    [Fact]
    public async Task A_pax_header_bomb_upload_is_413_naming_the_limit_and_nothing_is_stored()
    {
        var bomb = PaxBomb.Value;
        Assert.True(bomb.Length < 1024 * 1024, $"the bomb should be small on the wire; it is {bomb.Length} bytes");
        using var form = new MultipartFormDataContent
        {
            { new StringContent("""{"name":"pax-bomb"}"""), "metadata" },
            { new ByteArrayContent(bomb), "bundle", "bomb.tar.gz" },
        };

        var error = await (await fixture.Host.Client.PostAsync("/v1/default/functions", form)).ShouldFailAsync(413, "PAYLOAD_TOO_LARGE");
        Assert.Equal("bundle", error.GetProperty("field").GetString());
        Assert.Contains($"{ArchiveReader.MaxMetadataEntryBytes} bytes", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await fixture.Host.Client.GetAsync("/v1/default/functions/pax-bomb")).StatusCode);
    }

    [Fact]
    public void Reading_a_pax_header_bomb_allocates_a_small_fraction_of_its_header()
    {
        var bomb = PaxBomb.Value;
        // ArchiveReader is synchronous, so every allocation it makes is on this thread: an exact, noise-free measure.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var refused = Assert.Throws<IsolaException>(() => ArchiveReader.Read(bomb, 20L * 1024 * 1024));
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(ErrorKind.TooLarge, refused.Kind);
        Assert.True(allocated < 16L * 1024 * 1024, $"reading the bomb allocated {allocated / (1024 * 1024)} MB for a {PaxBytes / (1024 * 1024)} MB header");
    }

    [Fact]
    public void The_decompressed_stream_is_capped_headers_and_padding_included()
    {
        // 20,000 folder entries: no file content at all, but 10 MB of headers once decompressed.
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            for (var i = 0; i < 20_000; i++)
            {
                gzip.Write(Header($"d{i}/", '5', 0));
            }

            WriteFile(gzip, "index.ts", Encoding.UTF8.GetBytes(Code));
            gzip.Write(new byte[1024]);
        }

        var refused = Assert.Throws<IsolaException>(() => ArchiveReader.Read(compressed.ToArray(), 64 * 1024));
        Assert.Equal(ErrorKind.TooLarge, refused.Kind);
        Assert.Contains("headers included", refused.Message, StringComparison.Ordinal);
        Assert.Contains((64 * 1024 + ArchiveReader.HeaderAllowanceBytes).ToString(System.Globalization.CultureInfo.InvariantCulture), refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_archive_with_ordinary_pax_headers_still_unpacks()
    {
        using var tar = new MemoryStream();
        using (var writer = new System.Formats.Tar.TarWriter(tar, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
        {
            var entry = new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "fn/" + new string('n', 150) + "/index.ts",
                new Dictionary<string, string> { ["comment"] = new string('c', 10_000) })
            {
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes(Code)),
            };
            writer.WriteEntry(entry);
        }

        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(tar.ToArray());
        }

        var files = ArchiveReader.Read(compressed.ToArray(), 64 * 1024);
        Assert.Equal(Code, Encoding.UTF8.GetString(files[new string('n', 150) + "/index.ts"]));
    }

    /// <summary>
    /// A pax header entry ('x') holding one valid record of <paramref name="paxBytes"/> bytes, then index.ts:
    /// streamed through gzip in chunks so the test never holds the header itself.
    /// </summary>
    private static byte[] BuildPaxBomb(long paxBytes)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(Header("PaxHeaders/index.ts", 'x', paxBytes));
            // A pax record is "<length> <key>=<value>\n", the length counting itself.
            var prefix = Encoding.ASCII.GetBytes($"{paxBytes} comment=");
            gzip.Write(prefix);
            var chunk = new byte[1024 * 1024];
            Array.Fill(chunk, (byte)'a');
            for (var left = paxBytes - prefix.Length - 1; left > 0; left -= chunk.Length)
            {
                gzip.Write(chunk, 0, (int)Math.Min(left, chunk.Length));
            }

            gzip.Write("\n"u8);
            gzip.Write(new byte[Padding(paxBytes)]);
            WriteFile(gzip, "index.ts", Encoding.UTF8.GetBytes(Code));
            gzip.Write(new byte[1024]); // end of archive
        }

        return compressed.ToArray();
    }

    private static void WriteFile(Stream tar, string name, byte[] content)
    {
        tar.Write(Header(name, '0', content.Length));
        tar.Write(content);
        tar.Write(new byte[Padding(content.Length)]);
    }

    private static int Padding(long size) => (int)((512 - (size % 512)) % 512);

    /// <summary>A ustar header block with its checksum.</summary>
    private static byte[] Header(string name, char type, long size)
    {
        var block = new byte[512];
        Encoding.ASCII.GetBytes(name).CopyTo(block, 0);
        Encoding.ASCII.GetBytes("0000644\0").CopyTo(block, 100);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(block, 108);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(block, 116);
        Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(block, 124);
        Encoding.ASCII.GetBytes("00000000000\0").CopyTo(block, 136);
        block[156] = (byte)type;
        Encoding.ASCII.GetBytes("ustar\0" + "00").CopyTo(block, 257);
        Encoding.ASCII.GetBytes("        ").CopyTo(block, 148);
        var sum = block.Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(block, 148);
        return block;
    }
}
