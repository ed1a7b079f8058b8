using System.Text.RegularExpressions;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Docs;

/// <summary>
/// A part of a document written from code (a table of settings, log events, metrics), between
/// <c>&lt;!-- name:start --&gt;</c> and <c>&lt;!-- name:end --&gt;</c>: a test keeps it equal to what the code says.
/// </summary>
internal static class GeneratedSection
{
    /// <summary>Fails unless the section holds <paramref name="expected"/>, and then says what to paste there.</summary>
    public static async Task AssertIsAsync(string document, string name, string expected)
    {
        var markdown = await File.ReadAllTextAsync(Path.Combine(TestEnvironment.RepoRoot, document));
        var section = Regex.Match(markdown, $"<!-- {Regex.Escape(name)}:start -->(.*?)<!-- {Regex.Escape(name)}:end -->", RegexOptions.Singleline);
        Assert.True(section.Success, $"{document} has no <!-- {name}:start --> … <!-- {name}:end --> section");
        Assert.True(section.Groups[1].Value.Trim() == expected.Trim(),
            $"{document}'s {name} section is out of date; put this between its markers:\n\n{expected}");
    }
}
