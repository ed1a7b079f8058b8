using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Cli;

/// <summary>
/// features K3 and C7: the CLI against a real node, each command a separate process run from a temporary project
/// folder, as a developer types them.
/// </summary>
public sealed class CliEndToEndTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task A_function_goes_from_new_to_deploy_invoke_list_logs_versions_rollback_and_delete()
    {
        using var project = TestEnvironment.Scratch("cli-flow");
        var name = Unique("flow");

        var created = (await Cli(project, "new", name)).Ok();
        Assert.Contains($"functions/{name}/index.ts", created, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(project.Path, "isola.toml")));

        var deployed = (await Cli(project, "deploy")).Ok();
        Assert.Contains($"deployed {name} version 1", deployed, StringComparison.Ordinal);

        Assert.Equal("""{"message":"Hello, world!"}""", (await Cli(project, "invoke", name)).Ok());
        Assert.Equal("""{"message":"Hello, Ada!"}""", (await Cli(project, "invoke", name, "POST", """{"name": "Ada"}""")).Ok());

        using (var list = JsonDocument.Parse((await Cli(project, "list", "--json")).Ok()))
        {
            var function = list.RootElement.GetProperty("functions").EnumerateArray().Single(f => f.GetProperty("name").GetString() == name);
            Assert.Equal(1, function.GetProperty("version").GetInt32());
        }

        Assert.Contains(name, (await Cli(project, "list")).Ok(), StringComparison.Ordinal);
        Assert.Contains($"\"name\": \"{name}\"", (await Cli(project, "get", name, "--json")).Ok(), StringComparison.Ordinal);
        Assert.Contains("Hello, ${name}!", (await Cli(project, "config", name)).Ok(), StringComparison.Ordinal);

        // Records land a moment after the response: wait for both calls to be in the log.
        var logs = "";
        for (var attempt = 0; attempt < 50 && CountOf(logs, "200") < 2; attempt++)
        {
            await Task.Delay(200);
            logs = (await Cli(project, "logs", name)).Ok();
        }

        Assert.True(CountOf(logs, "200") >= 2, logs);
        Assert.Contains($"POST /v1/default/fn/{name}", logs, StringComparison.Ordinal);

        // A second version from the folder, then back to the first.
        await File.WriteAllTextAsync(Path.Combine(project.Path, "functions", name, "index.ts"), "export default () => new Response('v2');");
        Assert.Contains("version 2", (await Cli(project, "deploy", name)).Ok(), StringComparison.Ordinal);
        Assert.Equal("v2", (await Cli(project, "invoke", name)).Ok());
        using (var versions = JsonDocument.Parse((await Cli(project, "versions", name, "--json")).Ok()))
        {
            Assert.Equal(2, versions.RootElement.GetProperty("current").GetInt32());
            Assert.Equal(2, versions.RootElement.GetProperty("versions").GetArrayLength());
        }

        Assert.Contains("to version 1", (await Cli(project, "rollback", name, "1")).Ok(), StringComparison.Ordinal);
        Assert.Equal("""{"message":"Hello, world!"}""", (await Cli(project, "invoke", name)).Ok());
        Assert.Contains(name, (await Cli(project, "stats", name)).Ok(), StringComparison.Ordinal);

        Assert.Contains($"deleted {name}", (await Cli(project, "delete", name)).Ok(), StringComparison.Ordinal);
        Assert.Contains("FUNCTION_NOT_FOUND", (await Cli(project, "get", name)).Fails(1), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deploy_skips_the_functions_that_did_not_change_and_says_so()
    {
        using var project = TestEnvironment.Scratch("cli-skip");
        var (a, b) = (Unique("skip-a"), Unique("skip-b"));
        (await Cli(project, "new", a)).Ok();
        (await Cli(project, "new", b, "--template", "typed")).Ok();
        var first = (await Cli(project, "deploy")).Ok();
        Assert.Contains($"deployed {a} version 1", first, StringComparison.Ordinal);
        Assert.Contains($"deployed {b} version 1", first, StringComparison.Ordinal);

        var again = (await Cli(project, "deploy")).Ok();
        Assert.Contains($"skipped {a}: unchanged", again, StringComparison.Ordinal);
        Assert.Contains($"skipped {b}: unchanged", again, StringComparison.Ordinal);
        Assert.DoesNotContain("deployed", again.Replace("0 deployed", "", StringComparison.Ordinal), StringComparison.Ordinal);

        // A changed file redeploys that function only; a setting in isola.toml counts as a change too.
        await File.AppendAllTextAsync(Path.Combine(project.Path, "functions", b, "index.ts"), "\n// changed\n");
        await File.AppendAllTextAsync(Path.Combine(project.Path, "isola.toml"), $"\n[functions.{a}]\ntimeout_ms = 5000\n");
        using var result = JsonDocument.Parse((await Cli(project, "deploy", "--json")).Ok());
        var deployed = result.RootElement.GetProperty("deployed").EnumerateArray().Select(d => d.GetProperty("name").GetString()).ToList();
        Assert.Equal([a, b], deployed.Order(StringComparer.Ordinal));
        Assert.Equal(5000, JsonDocument.Parse((await Cli(project, "get", a, "--json")).Ok()).RootElement.GetProperty("timeoutMs").GetInt32());

        // The typed template answers JSON from JSON arguments.
        Assert.Equal("""{"sum":5}""", (await Cli(project, "invoke", b, "POST", """{"a": 2, "b": 3}""")).Ok());

        // Changed on the node behind the folder's back (a rollback): deployed again, not skipped.
        (await Cli(project, "rollback", b, "1")).Ok();
        Assert.Contains($"deployed {b} version 3", (await Cli(project, "deploy", b)).Ok(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Secrets_are_set_listed_and_unset_without_ever_printing_a_value_and_functions_see_them_without_a_redeploy()
    {
        using var project = TestEnvironment.Scratch("cli-secrets");
        var app = Unique("app");
        await (await fixture.Host.Client.PostAsync("/v1/apps", new StringContent($$"""{"id": "{{app}}"}""", Encoding.UTF8, "application/json"))).ShouldSucceedAsync(201);
        var name = Unique("reader");
        Directory.CreateDirectory(Path.Combine(project.Path, "functions", name));
        await File.WriteAllTextAsync(Path.Combine(project.Path, "functions", name, "index.ts"),
            "export default (req, ctx) => new Response(`${Deno.env.get('SECRET_ONE')}|${ctx.env.FROM_FILE}|${Deno.env.get('OWN')}`);");
        await File.WriteAllTextAsync(Path.Combine(project.Path, "prod.env"), "# from a file\nFROM_FILE=\"file value\"\n");
        (await Cli(project, "deploy", "--app", app)).Ok();
        Assert.Equal("undefined|undefined|undefined", (await Cli(project, "invoke", name, "--app", app)).Ok());

        var set = await Cli(project, "secrets", "set", "SECRET_ONE=value-one-9f3", "--env-file", "prod.env", "--app", app);
        Assert.DoesNotContain("value-one-9f3", set.Ok() + set.Stderr, StringComparison.Ordinal);
        (await Cli(project, "secrets", "set", "OWN=own-value", "--function", name, "--app", app)).Ok();
        Assert.Equal("value-one-9f3|file value|own-value", (await Cli(project, "invoke", name, "--app", app)).Ok());

        var listed = (await Cli(project, "secrets", "list", "--app", app)).Ok();
        Assert.Contains("SECRET_ONE", listed, StringComparison.Ordinal);
        Assert.Contains("FROM_FILE", listed, StringComparison.Ordinal);
        using (var json = JsonDocument.Parse((await Cli(project, "secrets", "list", "--json", "--app", app)).Ok()))
        {
            Assert.Equal(["FROM_FILE", "SECRET_ONE"], json.RootElement.GetProperty("secrets").EnumerateArray().Select(s => s.GetString()!));
            Assert.DoesNotContain("value-one", json.RootElement.GetRawText(), StringComparison.Ordinal);
        }

        Assert.Contains("OWN", (await Cli(project, "secrets", "list", "--function", name, "--app", app)).Ok(), StringComparison.Ordinal);
        (await Cli(project, "secrets", "unset", "SECRET_ONE", "--app", app)).Ok();
        Assert.Equal("undefined|file value|own-value", (await Cli(project, "invoke", name, "--app", app)).Ok());
    }

    [Fact]
    public async Task A_Supabase_project_folder_deploys_unchanged_and_verify_jwt_false_lets_anyone_call()
    {
        using var project = TestEnvironment.Scratch("cli-supabase");
        CopyFolder(Path.Combine(TestEnvironment.RepoRoot, "test", "fixtures", "cli", "supabase-project"), project.Path);
        var deployed = (await Cli(project, "deploy")).Ok();
        Assert.Contains("deployed hello-supabase version 1", deployed, StringComparison.Ordinal);

        // Over Supabase's own route with no token at all: config.toml's verify_jwt = false is honoured, and ../_shared resolved.
        var response = await fixture.Host.Anonymous.PostAsync("/functions/v1/hello-supabase", new StringContent("""{"name": "Functions"}"""));
        Assert.Equal("""{"message":"Hello Functions!"}""", await response.Content.ReadAsStringAsync());
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("skipped hello-supabase", (await Cli(project, "deploy")).Ok(), StringComparison.Ordinal);

        // `isola new` there writes where `supabase functions new` would, and no isola.toml.
        Assert.Contains("supabase/functions/second/index.ts", (await Cli(project, "new", "second")).Ok(), StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(project.Path, "isola.toml")));
        Assert.Contains("the cron template sets triggers", (await Cli(project, "new", "third", "--template", "cron")).Fails(1), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failures_exit_non_zero_with_one_line_naming_the_code_or_the_problem()
    {
        using var empty = TestEnvironment.Scratch("cli-empty");
        Assert.Contains("no project in", (await Cli(empty, "deploy")).Fails(1), StringComparison.Ordinal);
        Directory.CreateDirectory(Path.Combine(empty.Path, "functions"));
        Assert.Contains("holds no functions", (await Cli(empty, "deploy")).Fails(1), StringComparison.Ordinal);
        Assert.Contains("does not exist", (await Cli(empty, "deploy", "--project-dir", Path.Combine(empty.Path, "missing"))).Fails(1), StringComparison.Ordinal);

        Assert.Contains("'frobnicate'", (await Cli(empty, "frobnicate")).Fails(2), StringComparison.Ordinal);
        Assert.Contains("FUNCTION_NOT_FOUND: function 'nope'", (await Cli(empty, "invoke", "nope")).Fails(1), StringComparison.Ordinal);
        Assert.Contains("AUTH_REQUIRED", (await Cli(empty, "list", "--key", "isola_sk_wrong")).Fails(1), StringComparison.Ordinal);
        Assert.Contains("cannot reach the node", (await Cli(empty, "list", "--url", "http://127.0.0.1:9")).Fails(3), StringComparison.Ordinal);

        // A typo in isola.toml is named, and code that does not build says where.
        var name = Unique("broken");
        Directory.CreateDirectory(Path.Combine(empty.Path, "functions", name));
        await File.WriteAllTextAsync(Path.Combine(empty.Path, "functions", name, "index.ts"), "export default function (req { }");
        await File.WriteAllTextAsync(Path.Combine(empty.Path, "isola.toml"), $"[functions.{name}]\ntimeout = 5\n");
        Assert.Contains("unknown key 'timeout'", (await Cli(empty, "deploy")).Fails(1), StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(empty.Path, "isola.toml"), "");
        Assert.Contains($"BUILD_FAILED: build failed: functions/{name}/index.ts:1:", (await Cli(empty, "deploy")).Fails(1), StringComparison.Ordinal);

        // A function's own error status exits 1 and still prints its body.
        Directory.CreateDirectory(Path.Combine(empty.Path, "functions", name));
        await File.WriteAllTextAsync(Path.Combine(empty.Path, "functions", name, "index.ts"), "export default () => new Response('teapot', { status: 418 });");
        (await Cli(empty, "deploy")).Ok();
        var teapot = await Cli(empty, "invoke", name);
        Assert.Equal("teapot", teapot.Stdout);
        Assert.Contains("answered 418", teapot.Fails(1), StringComparison.Ordinal);
        Assert.Contains("VERSION_NOT_FOUND", (await Cli(empty, "rollback", name, "9")).Fails(1), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_saves_a_private_profile_that_later_commands_use_without_flags_or_variables()
    {
        using var folder = TestEnvironment.Scratch("cli-login");
        var configHome = Path.Combine(folder.Path, "config");
        var noConnection = new Dictionary<string, string?> { ["ISOLA_URL"] = null, ["ISOLA_API_KEY"] = null, ["XDG_CONFIG_HOME"] = configHome };

        Assert.Contains("AUTH_REQUIRED", (await fixture.RunAsync(folder.Path, ["login", "--url", fixture.Host.Url.ToString(), "--key", "isola_sk_wrong"], noConnection)).Fails(1),
            StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(configHome, "isola", "profile.toml"))); // a key that does not work is not saved

        (await fixture.RunAsync(folder.Path, ["login", "--url", fixture.Host.Url.ToString(), "--key", fixture.Host.Options.AdminKey!], noConnection)).Ok();
        var profile = Path.Combine(configHome, "isola", "profile.toml");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(profile));
        (await fixture.RunAsync(folder.Path, ["list"], noConnection)).Ok();

        // The saved key is never sent to another node.
        var elsewhere = await fixture.RunAsync(folder.Path, ["list", "--url", "http://127.0.0.2:9"], noConnection);
        Assert.Equal(3, elsewhere.ExitCode);
    }

    [Fact]
    public async Task Logs_follow_prints_a_new_invocation_as_it_happens()
    {
        using var project = TestEnvironment.Scratch("cli-follow");
        var name = Unique("follow");
        Directory.CreateDirectory(Path.Combine(project.Path, "functions", name));
        await File.WriteAllTextAsync(Path.Combine(project.Path, "functions", name, "index.ts"), "export default () => { console.log('followed line'); return new Response('ok'); };");
        (await Cli(project, "deploy")).Ok();

        var info = new ProcessStartInfo("dotnet", [CliFixture.CliDll, "logs", name, "-f"]) { WorkingDirectory = project.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var (key, value) in fixture.Environment())
        {
            info.Environment[key] = value;
        }

        using var follow = Process.Start(info)!;
        var output = new StringBuilder();
        follow.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        follow.BeginOutputReadLine();
        try
        {
            (await Cli(project, "invoke", name)).Ok();
            for (var attempt = 0; attempt < 100 && !Read(output).Contains("followed line", StringComparison.Ordinal); attempt++)
            {
                await Task.Delay(100);
            }

            Assert.Contains("followed line", Read(output), StringComparison.Ordinal);
        }
        finally
        {
            follow.Kill();
            await follow.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task The_isola_script_runs_the_CLI_and_does_not_build_or_provision_again()
    {
        using var folder = TestEnvironment.Scratch("cli-script");
        var script = Path.Combine(TestEnvironment.RepoRoot, "isola");
        await CliFixture.RunProcessAsync("bash", [script, "--version"], folder.Path, fixture.Environment()); // builds the CLI if this checkout's is stale
        var run = await CliFixture.RunProcessAsync("bash", [script, "list", "--json"], folder.Path, fixture.Environment());
        Assert.Contains("\"functions\"", run.Ok(), StringComparison.Ordinal);
        Assert.Equal("", run.Stderr); // no "building …", no "installing …"
    }

    [Fact]
    public void The_CLI_looks_for_the_same_default_entrypoints_as_the_node()
    {
        Assert.Equal(Isola.Host.Functions.FunctionSource.DefaultEntrypoints, Isola.Cli.Project.ProjectFolder.DefaultEntrypoints);
    }

    private Task<CliRun> Cli(ScratchFolder project, params string[] args) => fixture.RunAsync(project.Path, args);

    private static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    private static int CountOf(string text, string word) => text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Count(part => part == word);

    private static string Read(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
