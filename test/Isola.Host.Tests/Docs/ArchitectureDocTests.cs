using System.Text.RegularExpressions;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Docs;

/// <summary>docs/architecture.md walks a newcomer through files by name: every file it names must exist.</summary>
public sealed partial class ArchitectureDocTests
{
    [Fact]
    public async Task Every_file_the_architecture_page_names_exists()
    {
        var markdown = await File.ReadAllTextAsync(Path.Combine(TestEnvironment.RepoRoot, "docs", "architecture.md"));
        var named = FileName().Matches(markdown).Select(match => match.Value).Distinct().ToList();
        Assert.True(named.Count > 25, $"found only {named.Count} file names: is the pattern right?");

        var missing = named.Where(name => !File.Exists(Path.Combine(TestEnvironment.RepoRoot, "src", "Isola.Host", name)) &&
            !File.Exists(Path.Combine(TestEnvironment.RepoRoot, name))).ToList();

        Assert.True(missing.Count == 0, "docs/architecture.md names files that do not exist: " + string.Join(", ", missing));
    }

    [GeneratedRegex(@"\b(?:runtime/)?(?:[A-Za-z]+/)+[A-Za-z]+\.(?:cs|ts)\b")]
    private static partial Regex FileName();
}
