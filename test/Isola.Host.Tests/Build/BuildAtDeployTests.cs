using System.Net.Http.Json;
using Isola.Host.Tests.Infrastructure;
using Npgsql;

namespace Isola.Host.Tests.Build;

/// <summary>Deploys are bundled by the pinned Deno; failures are 422 with file:line:col and store nothing.</summary>
public sealed class BuildAtDeployTests(HostFixture fixture) : IClassFixture<HostFixture>
{
    private TestHost Host => fixture.Host;

    [Theory]
    [InlineData("syntax", "export default function (req { return new Response('x') }\n", "index.ts:1:30", "Expected ','")]
    [InlineData("missing-import", "import { helper } from './helper.ts';\nexport default () => new Response(helper());\n", "index.ts:1:24", "Module not found \"helper.ts\"")]
    [InlineData("missing-npm", "import x from 'npm:isola-no-such-package-zz9';\nexport default () => new Response(String(x));\n", "index.ts:1:14", "isola-no-such-package-zz9")]
    public async Task Code_that_does_not_build_is_422_with_its_location_and_nothing_is_stored(string name, string code, string location, string message)
    {
        var error = await (await Host.DeployAsync(new { name, code })).ShouldFailAsync(422, "BUILD_FAILED");
        var text = error.GetProperty("message").GetString()!;
        Assert.Contains(location, text);
        Assert.Contains(message, text);
        Assert.DoesNotContain(Host.Options.DataDir, text); // scratch paths are not leaked

        await (await Host.Client.GetAsync($"/v1/default/functions/{name}")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
        await using var db = await Host.OpenDatabaseAsync();
        await using var rows = new NpgsqlCommand("select count(*) from isola.functions where name = $1", db) { Parameters = { new() { Value = name } } };
        Assert.Equal(0L, await rows.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_data_URL_import_builds_and_is_not_taken_for_a_host_file()
    {
        // The source map lists it as "dataurl:data:...": read as a path, it resolved under the node's build folder,
        // and the build failed naming that absolute path.
        var body = await (await Host.DeployAsync(new
        {
            name = "data-url",
            code = "import greeting from \"data:text/javascript,export default 'hi from data'\";\nexport default () => new Response(greeting);\n",
        })).ShouldSucceedAsync(201);
        Assert.Equal("data-url", body.GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("data-syntax", "import \"data:text/javascript,export default 1 +\";\nexport default () => new Response('x');\n", "data:")]
    [InlineData("data-relative", "import \"data:text/javascript,import './nope.js'\";\nexport default () => new Response('x');\n", "data:")]
    [InlineData("data-host-file", "import x from \"data:text/javascript,import y from 'file:///etc/hostname' with {type: 'text'}; export default y\";\nexport default () => new Response(x);\n", "/etc/hostname")]
    public async Task A_failing_data_URL_import_names_what_the_code_wrote_never_the_build_folder(string name, string code, string named)
    {
        var error = await (await Host.DeployAsync(new { name, code })).ShouldFailAsync(422, "BUILD_FAILED");
        var text = error.GetProperty("message").GetString()!;
        Assert.DoesNotContain(Host.Options.DataDir, text);
        Assert.DoesNotContain("/builds/", text, StringComparison.Ordinal);
        Assert.Contains(named, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_update_that_does_not_build_keeps_the_current_version()
    {
        await (await Host.DeployAsync(new { name = "stable", code = "export default () => new Response('v1');" })).ShouldSucceedAsync(201);
        var error = await (await Host.Client.PutAsJsonAsync("/v1/default/functions/stable", new { code = "export default () => {", timeoutMs = 1000 }))
            .ShouldFailAsync(422, "BUILD_FAILED");
        Assert.Contains("index.ts:1:", error.GetProperty("message").GetString());
        var current = await (await Host.Client.GetAsync("/v1/default/functions/stable/config")).ShouldSucceedAsync();
        Assert.Equal(1, current.GetProperty("version").GetInt32());
        Assert.Equal(30000, current.GetProperty("timeoutMs").GetInt32());
        Assert.Equal("export default () => new Response('v1');", current.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Npm_and_node_imports_are_bundled_into_one_module_stored_by_content_hash()
    {
        const string code = """
            import isNumber from "npm:is-number@7.0.0";
            import { Buffer } from "node:buffer";
            export default async function handler(req: Request): Promise<Response> {
              return Response.json({ n: isNumber(5), b: Buffer.from("ab").length });
            }
            """;
        var created = await (await Host.DeployAsync(new { name = "with-npm", code })).ShouldSucceedAsync(201);
        var hash = created.GetProperty("artifact").GetProperty("hash").GetString()!;
        Assert.StartsWith("sha256:", hash);

        await using var db = await Host.OpenDatabaseAsync();
        await using var select = new NpgsqlCommand("select content from isola.artifacts where hash = $1", db) { Parameters = { new() { Value = hash } } };
        var bundle = System.Text.Encoding.UTF8.GetString((byte[])(await select.ExecuteScalarAsync())!);
        Assert.Contains("num - num === 0", bundle); // is-number's own source is inside the artifact
        Assert.DoesNotContain("npm:is-number", bundle);
        Assert.Equal(hash, "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(bundle))));

        // Same code in another function: one artifact row, shared.
        await (await Host.DeployAsync(new { name = "with-npm-twin", code })).ShouldSucceedAsync(201);
        await using var count = new NpgsqlCommand("select count(*) from isola.artifacts where hash = $1", db) { Parameters = { new() { Value = hash } } };
        Assert.Equal(1L, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Importing_a_host_file_is_refused_at_build()
    {
        var secret = Path.Combine(Host.Options.DataDir, "host-secret.txt");
        await File.WriteAllTextAsync(secret, "not for functions");
        var code = $"import key from '{secret}' with {{ type: 'text' }};\nexport default () => new Response(key);\n";
        var error = await (await Host.DeployAsync(new { name = "exfiltrate", code })).ShouldFailAsync(422, "BUILD_FAILED");
        Assert.Contains("outside the function's own sources", error.GetProperty("message").GetString());
        await (await Host.Client.GetAsync("/v1/default/functions/exfiltrate")).ShouldFailAsync(404, "FUNCTION_NOT_FOUND");
    }

    [Fact]
    public async Task A_MolnOS_script_without_exports_keeps_its_handler()
    {
        const string code = "async function handler(request, context) { return { statusCode: 200, body: { message: 'Hello World' } }; }";
        var created = await (await Host.DeployAsync(new { name = "molnos-script", code })).ShouldSucceedAsync(201);
        await using var db = await Host.OpenDatabaseAsync();
        await using var select = new NpgsqlCommand("select content from isola.artifacts where hash = $1", db)
        {
            Parameters = { new() { Value = created.GetProperty("artifact").GetProperty("hash").GetString() } },
        };
        var bundle = System.Text.Encoding.UTF8.GetString((byte[])(await select.ExecuteScalarAsync())!);
        Assert.Contains("Hello World", bundle);
        Assert.Contains(Isola.Host.Build.FunctionBuilder.ScriptHandlerExport, bundle);
    }
}
