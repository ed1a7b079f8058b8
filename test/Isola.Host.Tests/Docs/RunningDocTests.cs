using System.Text.RegularExpressions;
using Isola.Host.Hosting.Settings;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Docs;

/// <summary>
/// docs/running.md lists every setting from one source, the settings list of the host: its table is
/// generated from it, the docs name no variable the host (or, for the CLI's two, the CLI) does not read,
/// and nothing else in the host reads the environment; in the CLI, only Connection/ does.
/// </summary>
public sealed partial class RunningDocTests
{
    [Fact]
    public Task The_settings_table_is_the_one_generated_from_the_settings_list() =>
        GeneratedSection.AssertIsAsync("docs/running.md", "settings", IsolaSettings.MarkdownTable());

    [Fact]
    public async Task Every_ISOLA_variable_the_docs_name_is_a_setting()
    {
        var settings = IsolaSettings.All.Select(setting => setting.Variable).Concat(IsolaSettings.CliVariables).ToHashSet();
        var documents = Directory.EnumerateFiles(Path.Combine(TestEnvironment.RepoRoot, "docs"), "*.md")
            .Append(Path.Combine(TestEnvironment.RepoRoot, "README.md"));
        foreach (var document in documents)
        {
            var text = await File.ReadAllTextAsync(document);
            foreach (Match name in VariableName().Matches(text))
            {
                Assert.True(settings.Contains(name.Value), $"{Path.GetFileName(document)} names {name.Value}, which is not a setting of the host");
            }
        }
    }

    [Fact]
    public void Only_the_settings_list_reads_the_environment()
    {
        var source = Path.Combine(TestEnvironment.RepoRoot, "src");
        var readers = Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
            .SelectMany(file => EnvironmentRead().Matches(File.ReadAllText(file))
                .Where(read => read.Groups["name"].Value != "\"PATH\"") // the system search path, not a setting
                .Select(read => $"{Path.GetRelativePath(source, file)}: {read.Value}"))
            .Where(read => !read.StartsWith(Path.Combine("Isola.Host", "Hosting", "Settings", "IsolaSettings.cs"), StringComparison.Ordinal) &&
                !read.StartsWith(Path.Combine("Isola.Cli", "Connection") + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            .ToList();
        Assert.True(readers.Count == 0, "read settings through IsolaSettings, not here:\n" + string.Join('\n', readers));
    }

    // BENCH_ISOLA_* belong to bench/run.
    [GeneratedRegex(@"(?<![A-Z_])ISOLA_[A-Z_]*[A-Z]")]
    private static partial Regex VariableName();

    [GeneratedRegex(@"GetEnvironmentVariables?\((?<name>[^)]*)\)")]
    private static partial Regex EnvironmentRead();
}
