using System.Reflection;
using System.Text.RegularExpressions;
using Isola.Host.Errors;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Docs;

/// <summary>
/// Every error code lives in <see cref="ErrorCodes"/>, and a client developer can look each one up: it must
/// appear in an error table (a Markdown table row) somewhere in docs/.
/// </summary>
public sealed partial class ErrorCodeDocTests
{
    [Fact]
    public void Every_error_code_is_in_an_error_table_of_the_docs()
    {
        var tableRows = Directory.GetFiles(Path.Combine(TestEnvironment.RepoRoot, "docs"), "*.md", SearchOption.AllDirectories)
            .SelectMany(File.ReadAllLines)
            .Where(line => line.TrimStart().StartsWith('|'))
            .ToList();
        var codes = Codes().ToList();
        Assert.True(codes.Count > 30, $"found only {codes.Count} codes in ErrorCodes: is the reflection right?");

        var undocumented = codes.Where(code => !tableRows.Any(row => Regex.IsMatch(row, $@"`(\d{{3}} )?{code}`"))).ToList();

        Assert.True(undocumented.Count == 0, "error codes missing from every docs/ error table: " + string.Join(", ", undocumented));
    }

    [Fact]
    public void No_code_is_defined_twice()
    {
        var duplicates = Codes().GroupBy(code => code).Where(group => group.Count() > 1).Select(group => group.Key).ToList();

        Assert.Empty(duplicates);
    }

    [Fact]
    public void Source_outside_the_catalog_spells_no_code_as_a_literal()
    {
        var codes = Codes().ToHashSet();
        var source = Path.Combine(TestEnvironment.RepoRoot, "src", "Isola.Host");
        var offenders = Directory.GetFiles(source, "*.cs", SearchOption.AllDirectories)
            .Where(path => !path.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal) &&
                Path.GetFileName(path) != "ErrorCodes.cs")
            .SelectMany(path => QuotedCode().Matches(File.ReadAllText(path)).Select(match => (path, code: match.Groups[1].Value)))
            .Where(hit => codes.Contains(hit.code))
            .Select(hit => $"{Path.GetRelativePath(source, hit.path)}: \"{hit.code}\"")
            .ToList();

        Assert.True(offenders.Count == 0, "use ErrorCodes instead of these literals: " + string.Join("; ", offenders));
    }

    private static IEnumerable<string> Codes() =>
        typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(field => field.IsLiteral && field.FieldType == typeof(string))
            .Select(field => (string)field.GetRawConstantValue()!);

    [GeneratedRegex("\"([A-Z][A-Z_]+[A-Z])\"")]
    private static partial Regex QuotedCode();
}
