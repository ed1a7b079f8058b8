using System.Text.RegularExpressions;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Docs;

/// <summary>
/// What comments, test names, fixtures and docs cite must resolve inside the repository: a feature or
/// budget id ("C1", "H8", "A1–A3", "P6") is a row of docs/features.md, a decision number is a file of
/// docs/decisions/, and nothing cites a document a newcomer cannot open (the product specification
/// or performance notes kept outside, an issue number).
/// </summary>
public sealed partial class CitationTests
{
    private static readonly string[] CodeFolders = ["src", "test", "bench", "runtime", "sdk", "scripts"];
    private static readonly HashSet<string> SkippedFolders = ["node_modules", "bin", "obj", "results", ".cache", "TestResults"];
    private static readonly HashSet<string> TextExtensions = [".cs", ".ts", ".js", ".mjs", ".sh", ".sql", ".csproj", ".props", ".md", ""];

    [Fact]
    public void Every_cited_feature_or_budget_id_is_a_row_of_the_features_table()
    {
        var known = FeatureIds();
        Assert.Contains("H8", known);
        Assert.Contains("T4", known); // from the range row T2–T5
        var unresolved = new List<string>();
        var cited = 0;
        foreach (var (file, line, text) in Lines(CodeFiles().Concat(Documents())))
        {
            foreach (Match citation in FeatureCitation().Matches(text))
            {
                cited++;
                var letter = citation.Groups["letter"].Value;
                var from = int.Parse(citation.Groups["from"].Value, System.Globalization.CultureInfo.InvariantCulture);
                var to = citation.Groups["to"].Success ? int.Parse(citation.Groups["to"].Value, System.Globalization.CultureInfo.InvariantCulture) : from;
                if (to < from || Enumerable.Range(from, to - from + 1).Any(n => !known.Contains(letter + n)))
                {
                    unresolved.Add($"{file}:{line}: {citation.Value}");
                }
            }
        }

        Assert.True(cited > 50, $"only {cited} citations found: has the id format changed?");
        Assert.True(unresolved.Count == 0, "ids not in docs/features.md (add a row there, or drop the reference):\n" + string.Join('\n', unresolved));
    }

    [Fact]
    public void Nothing_cites_a_document_outside_the_repository()
    {
        var outside = Lines(CodeFiles().Append(Path.Combine(TestEnvironment.RepoRoot, "README.md")))
            .SelectMany(l => OutsideCitation().Matches(l.Text).Select(match => $"{l.File}:{l.Line}: {match.Value}"))
            .ToList();
        Assert.True(outside.Count == 0, "cite docs/features.md or docs/decisions/ instead:\n" + string.Join('\n', outside));
    }

    [Fact]
    public void Every_cited_decision_exists()
    {
        var decisions = Directory.EnumerateFiles(Path.Combine(TestEnvironment.RepoRoot, "docs", "decisions"), "*.md")
            .Select(path => Path.GetFileName(path)[..3]).ToHashSet();
        var missing = Lines(CodeFiles().Concat(Documents()))
            .SelectMany(l => DecisionCitation().Matches(l.Text)
                .Where(match => !decisions.Contains(match.Groups["number"].Value))
                .Select(match => $"{l.File}:{l.Line}: {match.Value}"))
            .ToList();
        Assert.True(missing.Count == 0, "no such decision in docs/decisions/:\n" + string.Join('\n', missing));
    }

    /// <summary>Ids of the features and budgets tables; a range row ("T2–T5") gives each id in it.</summary>
    private static HashSet<string> FeatureIds()
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (Match row in FeatureRow().Matches(File.ReadAllText(Path.Combine(TestEnvironment.RepoRoot, "docs", "features.md"))))
        {
            var from = int.Parse(row.Groups["from"].Value, System.Globalization.CultureInfo.InvariantCulture);
            var to = row.Groups["to"].Success ? int.Parse(row.Groups["to"].Value, System.Globalization.CultureInfo.InvariantCulture) : from;
            for (var n = from; n <= to; n++)
            {
                ids.Add(row.Groups["letter"].Value + n);
            }
        }

        return ids;
    }

    private static IEnumerable<string> CodeFiles() =>
        CodeFolders.Select(folder => Path.Combine(TestEnvironment.RepoRoot, folder))
            .Where(Directory.Exists)
            .SelectMany(Walk)
            .Concat(new[] { "isola", "test.sh" }.Select(name => Path.Combine(TestEnvironment.RepoRoot, name)));

    private static IEnumerable<string> Documents() =>
        Directory.EnumerateFiles(Path.Combine(TestEnvironment.RepoRoot, "docs"), "*.md").Append(Path.Combine(TestEnvironment.RepoRoot, "README.md"));

    private static IEnumerable<string> Walk(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder))
        {
            var name = Path.GetFileName(file);
            if (TextExtensions.Contains(Path.GetExtension(file)) || name == "package.json")
            {
                yield return file;
            }
        }

        foreach (var child in Directory.EnumerateDirectories(folder).Where(dir => !SkippedFolders.Contains(Path.GetFileName(dir))))
        {
            foreach (var file in Walk(child))
            {
                yield return file;
            }
        }
    }

    private static IEnumerable<(string File, int Line, string Text)> Lines(IEnumerable<string> files) =>
        files.SelectMany(file => File.ReadLines(file).Select((text, index) => (Path.GetRelativePath(TestEnvironment.RepoRoot, file), index + 1, text)));

    [GeneratedRegex(@"^\| (?<letter>[A-Z])(?<from>\d+)(?:–[A-Z](?<to>\d+))? \|", RegexOptions.Multiline)]
    private static partial Regex FeatureRow();

    // "C1", "(H8)", "A1–A3", "P1-P4", "P2-JWT"; not inside words, URL escapes (%C3) or paths.
    [GeneratedRegex(@"(?<![\w%./-])(?<letter>[CHADTSRKOP])(?<from>\d{1,2})(?:[–-]\k<letter>?(?<to>\d{1,2}))?(?![\w%])")]
    private static partial Regex FeatureCitation();

    [GeneratedRegex(@"\bSPEC\b|\b(?:PERF|DESIGN|STYLE)\.md\b|\b[Ii]ssues? #?\d")]
    private static partial Regex OutsideCitation();

    [GeneratedRegex(@"[Dd]ecisions?[ /](?<number>\d{3})")]
    private static partial Regex DecisionCitation();
}
