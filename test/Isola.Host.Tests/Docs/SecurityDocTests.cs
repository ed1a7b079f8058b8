using System.Reflection;
using System.Text.RegularExpressions;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Docs;

/// <summary>
/// docs/security.md names, for every rule of the sandbox, the test that tries to break it. Those names
/// must stay true: each cited test class exists, and each cited <c>Class.Method</c> is a test.
/// </summary>
public sealed partial class SecurityDocTests
{
    [Fact]
    public async Task Every_test_the_security_page_cites_exists()
    {
        var markdown = await File.ReadAllTextAsync(Path.Combine(TestEnvironment.RepoRoot, "docs", "security.md"));
        var tests = typeof(SecurityDocTests).Assembly.GetTypes()
            .Where(type => type.IsPublic && type.Name.EndsWith("Tests", StringComparison.Ordinal))
            .ToDictionary(type => type.Name, type => type.GetMethods(BindingFlags.Public | BindingFlags.Instance)
                .Where(method => method.GetCustomAttributes().Any(a => a is FactAttribute))
                .Select(method => method.Name)
                .ToHashSet());

        var cited = 0;
        var lastClass = "";
        foreach (Match match in CitedTest().Matches(markdown))
        {
            var name = match.Groups["name"].Value;
            if (name.StartsWith("runtime/", StringComparison.Ordinal))
            {
                Assert.True(File.Exists(Path.Combine(TestEnvironment.RepoRoot, name)), $"docs/security.md cites {name}, which does not exist");
                continue;
            }

            var dot = name.IndexOf('.', StringComparison.Ordinal);
            var (type, method) = dot < 0 ? (name, null) : (name[..dot], name[(dot + 1)..]);
            if (method is null && !type.EndsWith("Tests", StringComparison.Ordinal))
            {
                // A bare method name after a class on the same line (", Other_method").
                (type, method) = (lastClass, type);
            }

            Assert.True(tests.ContainsKey(type), $"docs/security.md cites test class {type}, which does not exist");
            Assert.True(method is null || tests[type].Contains(method), $"docs/security.md cites {type}.{method}, which is not a test");
            lastClass = type;
            cited++;
        }

        Assert.True(cited > 30, $"only {cited} tests found cited: has the page's format changed?");
    }

    /// <summary>Backticked names in the page's last column: <c>Class</c>, <c>Class.Method</c>, a method of the class before, or a runtime test file.</summary>
    [GeneratedRegex(@"`(?<name>(?:[A-Z][A-Za-z]+Tests(?:\.[A-Za-z_0-9]+)?)|(?:[A-Z][a-z]+_[A-Za-z_0-9]+)|(?:runtime/test/[a-z./-]+))`")]
    private static partial Regex CitedTest();
}
