using System.Reflection;
using System.Text.RegularExpressions;
using Isola.Host.Tests.Infrastructure;
using Isola.Host.Workers;

namespace Isola.Host.Tests.Workers;

/// <summary>
/// The protocol's names are spelled once per side: <see cref="WorkerProtocol"/> on the host, runtime/src/protocol.ts
/// in the runtime. The two lists must be the same names with the same values.
/// </summary>
public sealed partial class WorkerProtocolDriftTests
{
    [Fact]
    public async Task The_host_and_the_runtime_spell_every_protocol_name_the_same()
    {
        var typescript = await File.ReadAllTextAsync(Path.Combine(TestEnvironment.RepoRoot, "runtime", "src", "protocol.ts"));
        var runtime = TsConstant().Matches(typescript).ToDictionary(m => m.Groups["name"].Value, m => m.Groups["value"].Value);
        var host = typeof(WorkerProtocol).GetFields(BindingFlags.Public | BindingFlags.Static | BindingFlags.NonPublic)
            .Where(field => field.IsLiteral)
            .ToDictionary(field => UpperSnake(field.Name), field => (string)field.GetRawConstantValue()!);

        Assert.True(host.Count >= 20, $"found only {host.Count} constants in WorkerProtocol");
        var onlyHost = host.Keys.Except(runtime.Keys).ToList();
        var onlyRuntime = runtime.Keys.Except(host.Keys).ToList();
        var different = host.Keys.Intersect(runtime.Keys).Where(name => host[name] != runtime[name])
            .Select(name => $"{name}: host \"{host[name]}\", runtime \"{runtime[name]}\"").ToList();

        Assert.True(onlyHost.Count == 0, "missing from runtime/src/protocol.ts: " + string.Join(", ", onlyHost));
        Assert.True(onlyRuntime.Count == 0, "missing from WorkerProtocol.cs: " + string.Join(", ", onlyRuntime));
        Assert.True(different.Count == 0, "spelled differently: " + string.Join("; ", different));
    }

    [Theory]
    [InlineData("ReadyLine", "READY_LINE")]
    [InlineData("InvocationIdHeader", "INVOCATION_ID_HEADER")]
    public void Names_map_from_pascal_case_to_upper_snake(string pascal, string snake) => Assert.Equal(snake, UpperSnake(pascal));

    private static string UpperSnake(string pascal) => PascalBoundary().Replace(pascal, "_$1").ToUpperInvariant();

    [GeneratedRegex("""export const (?<name>[A-Z][A-Z0-9_]*) = "(?<value>[^"]*)";""")]
    private static partial Regex TsConstant();

    [GeneratedRegex("(?<=[a-z0-9])([A-Z])")]
    private static partial Regex PascalBoundary();
}
