using System.Formats.Tar;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Gateway;

/// <summary>feature C6: files + entrypoint as JSON, and .tar.gz / .zip uploads, run end to end.</summary>
public sealed class MultiFileDeployTests(GatewayFixture fixture) : IClassFixture<GatewayFixture>
{
    private static readonly byte[] Binary = [.. Enumerable.Range(0, 256).Select(i => (byte)i), 0, 0xff];

    private TestHost Host => fixture.Host;

    [Fact]
    public async Task The_Supabase_CORS_example_with_its_shared_module_deploys_as_files()
    {
        var root = FixtureDir("supabase-cors");
        var files = new Dictionary<string, string>
        {
            ["index.ts"] = await File.ReadAllTextAsync(Path.Combine(root, "browser-with-cors", "index.ts")),
            ["../_shared/cors.ts"] = await File.ReadAllTextAsync(Path.Combine(root, "_shared", "cors.ts")),
        };
        await (await Host.DeployAsync(new { name = "browser-with-cors", files, entrypoint = "index.ts" })).ShouldSucceedAsync(201);

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/functions/v1/browser-with-cors");
        var options = await Host.Caller.SendAsync(preflight);
        Assert.Equal("*", options.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var call = await (await Host.Caller.PostAsJsonAsync("/functions/v1/browser-with-cors", new { name = "Files" })).ShouldSucceedAsync();
        Assert.Equal("Hello Files!", call.GetProperty("message").GetString());

        var config = await (await Host.Client.GetAsync("/v1/default/functions/browser-with-cors/config")).ShouldSucceedAsync();
        Assert.Equal("index.ts", config.GetProperty("entrypoint").GetString());
        Assert.Contains("corsHeaders", config.GetProperty("files").GetProperty("../_shared/cors.ts").GetString());
        Assert.False(config.TryGetProperty("code", out _));
    }

    [Fact]
    public async Task A_tar_gz_upload_keeps_binary_files_readable_next_to_the_code_and_resolves_deno_json_imports()
    {
        var archive = TarGz(FolderFiles(FixtureDir("assets"), prefix: "assets/").Append(("assets/data.bin", Binary)));
        var response = await Host.Client.PostAsync("/v1/default/functions", Multipart("""{"name": "assets"}""", archive, "assets.tar.gz"));
        await response.ShouldSucceedAsync(201);

        var body = await (await Host.Caller.GetAsync("/v1/default/fn/assets")).ShouldSucceedAsync();
        Assert.Equal("Hello files", body.GetProperty("greeting").GetString());
        Assert.True(body.GetProperty("isNumber").GetBoolean());
        Assert.Equal("<h1>served from a file next to the code</h1>", body.GetProperty("page").GetString());
        Assert.Equal(Binary.Length, body.GetProperty("binaryLength").GetInt32());
        Assert.Equal(Binary.Sum(b => b) % 65521, body.GetProperty("binarySum").GetInt32());
        Assert.EndsWith("/assets", body.GetProperty("dirname").GetString()); // as in a Supabase project

        var config = await (await Host.Client.GetAsync("/v1/default/functions/assets/config")).ShouldSucceedAsync();
        Assert.Equal(Convert.ToBase64String(Binary), config.GetProperty("binaryFiles").GetProperty("data.bin").GetString());
    }

    [Fact]
    public async Task A_zip_upload_with_a_custom_entrypoint_and_CommonJS_dependencies_runs()
    {
        var archive = Zip(FolderFiles(FixtureDir("commonjs"), prefix: ""));
        await (await Host.Client.PostAsync("/v1/default/functions", Multipart("""{"name": "legacy", "entrypoint": "main.mjs"}""", archive, "legacy.zip")))
            .ShouldSucceedAsync(201);
        var body = await (await Host.Caller.GetAsync("/v1/default/fn/legacy?value=12")).ShouldSucceedAsync();
        Assert.True(body.GetProperty("isNumber").GetBoolean());

        // An update uploads a new archive; settings in metadata change with it.
        var update = await Host.Client.PutAsync("/v1/default/functions/legacy", Multipart("""{"entrypoint": "main.mjs", "timeoutMs": 5000}""", archive, "legacy.zip"));
        var updated = await update.ShouldSucceedAsync();
        Assert.Equal(2, updated.GetProperty("version").GetInt32());
        Assert.Equal(5000, updated.GetProperty("timeoutMs").GetInt32());
    }

    [Theory]
    [InlineData("""{"name": "bad", "files": {"../../etc/x.ts": "export default () => new Response()"}}""", "files.../../etc/x.ts")]
    [InlineData("""{"name": "bad", "files": {"/abs.ts": "export default () => new Response()"}}""", "files./abs.ts")]
    [InlineData("""{"name": "bad", "files": {"lib.ts": "export const x = 1"}}""", "entrypoint")]
    [InlineData("""{"name": "bad", "files": {"index.ts": "x"}, "entrypoint": "main.ts"}""", "entrypoint")]
    [InlineData("""{"name": "bad", "files": {"index.ts": "x", "page.html": "x"}, "entrypoint": "page.html"}""", "entrypoint")]
    [InlineData("""{"name": "bad", "code": "x", "files": {"index.ts": "x"}}""", "code")]
    [InlineData("""{"name": "bad", "code": "x", "entrypoint": "index.ts"}""", "entrypoint")]
    [InlineData("""{"name": "bad", "files": {}}""", "files")]
    [InlineData("""{"name": "bad", "files": {"index.ts": 5}}""", "files.index.ts")]
    public async Task Bad_file_sets_are_400_naming_the_field(string body, string field)
    {
        var error = await (await Host.Client.PostAsync("/v1/default/functions", new StringContent(body, Encoding.UTF8, "application/json")))
            .ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal(field, error.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Archives_with_links_or_that_are_not_archives_are_refused()
    {
        using var tar = new MemoryStream();
        await using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "index.ts") { DataStream = new MemoryStream("export default () => new Response('x')"u8.ToArray()) });
            await writer.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "secret") { LinkName = "/etc/passwd" });
        }

        var linked = await (await Host.Client.PostAsync("/v1/default/functions", Multipart("""{"name": "linked"}""", tar.ToArray(), "f.tar")))
            .ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Contains("SymbolicLink", linked.GetProperty("message").GetString());

        var junk = await (await Host.Client.PostAsync("/v1/default/functions", Multipart("""{"name": "junk"}""", "not an archive"u8.ToArray(), "f.zip")))
            .ShouldFailAsync(400, "INVALID_REQUEST");
        Assert.Equal("bundle", junk.GetProperty("field").GetString());
        await (await Host.Client.GetAsync("/v1/default/functions/linked")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
    }

    private static string FixtureDir(string name) => Path.Combine(TestEnvironment.RepoRoot, "test", "fixtures", "multifile", name);

    private static IEnumerable<(string Path, byte[] Bytes)> FolderFiles(string dir, string prefix) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Select(file => (prefix + Path.GetRelativePath(dir, file).Replace('\\', '/'), File.ReadAllBytes(file)));

    private static byte[] TarGz(IEnumerable<(string Path, byte[] Bytes)> files)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        using (var writer = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            foreach (var (path, bytes) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, path) { DataStream = new MemoryStream(bytes) });
            }
        }

        return output.ToArray();
    }

    private static byte[] Zip(IEnumerable<(string Path, byte[] Bytes)> files)
    {
        using var output = new MemoryStream();
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (path, bytes) in files)
            {
                using var entry = zip.CreateEntry(path).Open();
                entry.Write(bytes);
            }
        }

        return output.ToArray();
    }

    private static MultipartFormDataContent Multipart(string metadata, byte[] archive, string fileName)
    {
        var content = new MultipartFormDataContent
        {
            { new StringContent(metadata, Encoding.UTF8, "application/json"), "metadata" },
            { new ByteArrayContent(archive), "bundle", fileName },
        };
        return content;
    }
}
