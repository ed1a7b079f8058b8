using System.Net.Http.Json;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Cli;

/// <summary>
/// feature K2: <c>isola types generate</c> writes a .d.ts from a real node's functions, plain and typed, with which the
/// project's Deno type-checks client code against @isola/client (installed from sdk/js as npm installs it): good names,
/// arguments and results pass; a misspelt name, a function without an HTTP endpoint, a plain function called as a
/// typed one and back, wrong, missing or unknown arguments, a wrong result type and a live query of a mutation fail
/// (test/fixtures/types).
/// </summary>
public sealed class TypesTests(CliFixture fixture) : IClassFixture<CliFixture>
{
    [Fact]
    public async Task Generated_types_accept_the_app_s_functions_and_reject_the_rest()
    {
        var app = "types" + Guid.NewGuid().ToString("N")[..8];
        await (await fixture.Host.Client.PostAsJsonAsync("/v1/apps", new { id = app })).ShouldSucceedAsync(201);
        foreach (var name in new[] { "hello", "hello-world" })
        {
            await (await fixture.Host.DeployAsync(new { name, code = "export default () => new Response('hi')" }, app)).ShouldSucceedAsync(201);
        }

        await (await fixture.Host.DeployAsync(new
        {
            name = "nightly-only",
            code = "export default () => new Response('tick')",
            triggers = new[] { new { type = "cron", config = new { schedule = "0 3 * * *" } } },
        }, app)).ShouldSucceedAsync(201);

        await DeployTypedAsync(app, "createMessage", TestEnvironment.Fixture("typed/createMessage.ts"));
        foreach (var name in new[] { "roomSummary", "ping", "internalCleanup" })
        {
            await DeployTypedAsync(app, name, TestEnvironment.Fixture($"types/{name}.ts"));
        }

        using var project = TestEnvironment.Scratch("types");
        var printed = (await fixture.RunAsync(project.Path, ["types", "generate", "--app", app])).Ok();
        Assert.Contains("\"hello-world\": true;", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("nightly-only", printed, StringComparison.Ordinal);
        Assert.DoesNotContain("internalCleanup", printed, StringComparison.Ordinal);
        Assert.Contains("\"createMessage\": { kind: \"mutation\"; args: { body: string; roomId: string }; result: unknown };", printed, StringComparison.Ordinal);
        Assert.Contains("\"ping\": { kind: \"mutation\"; args: Record<string, never>; result: boolean };", printed, StringComparison.Ordinal);
        Assert.Contains("\"roomSummary\": { kind: \"query\"; args: { \"page-size\"?: number | undefined; roomId: string; since?: string | undefined }; " +
            "result: { count: number; name: string; status: \"open\" | \"closed\"; tags: (string | number)[]; topic?: string | undefined } };",
            printed, StringComparison.Ordinal);
        Assert.Contains("isola-types.d.ts: 2 function names, 3 typed functions",
            (await fixture.RunAsync(project.Path, ["types", "generate", "--app", app, "--out", "isola-types.d.ts"])).Ok(), StringComparison.Ordinal);
        Assert.Equal(printed, await File.ReadAllTextAsync(Path.Combine(project.Path, "isola-types.d.ts")));

        foreach (var file in new[] { "good.ts", "bad.ts" })
        {
            File.Copy(Path.Combine(TestEnvironment.RepoRoot, "test", "fixtures", "types", file), Path.Combine(project.Path, file));
        }

        // As a user installs it; --install-links copies the folder, so Deno reads it as a package (types from dist/*.d.ts).
        await File.WriteAllTextAsync(Path.Combine(project.Path, "deno.json"), """{"nodeModulesDir": "manual"}""");
        var sdk = Path.Combine(TestEnvironment.RepoRoot, "sdk", "js");
        (await CliFixture.RunProcessAsync("npm", ["install", "--offline", "--install-links", "--no-audit", "--no-fund", sdk], project.Path, DenoEnvironment())).Ok();

        (await CliFixture.RunProcessAsync(TestEnvironment.DenoPath, ["check", "good.ts"], project.Path, DenoEnvironment())).Ok();
        var bad = await CliFixture.RunProcessAsync(TestEnvironment.DenoPath, ["check", "bad.ts"], project.Path, DenoEnvironment());
        Assert.NotEqual(0, bad.ExitCode);
        var errors = bad.Stdout + bad.Stderr;
        string[] expected =
        [
            "Argument of type '\"helo\"' is not assignable",
            "Argument of type '\"nightly-only\"' is not assignable",
            "Argument of type '\"createMessage\"' is not assignable to parameter of type '\"hello\" | \"hello-world\"'",
            // { roomId: 1 } where roomId is v.id("Room"): the number, and the property it was given for.
            "The expected type comes from property 'roomId' which is declared here",
            "Property 'body' is missing",
            "'limit' does not exist in type '{ \"page-size\"?: number | undefined; roomId: string; since?: string | undefined; }'",
            "Argument of type '\"internalCleanup\"' is not assignable",
            "Argument of type '\"hello\"' is not assignable to parameter of type '\"createMessage\" | \"ping\" | \"roomSummary\"'",
            "Type 'number' is not assignable to type 'string'",
            "Argument of type '\"createMessage\"' is not assignable to parameter of type '\"roomSummary\"'",
        ];
        Assert.All(expected, error => Assert.Contains(error, errors, StringComparison.Ordinal));
        Assert.Contains($"Found {expected.Length} errors", errors, StringComparison.Ordinal);
    }

    private async Task DeployTypedAsync(string app, string name, string code) =>
        await (await fixture.Host.DeployAsync(new { name, code }, app)).ShouldSucceedAsync(201);

    private static Dictionary<string, string?> DenoEnvironment() => new()
    {
        ["DENO_DIR"] = TestEnvironment.SharedDenoCache,
        ["NO_COLOR"] = "1",
        ["DENO_NO_UPDATE_CHECK"] = "1",
    };
}
