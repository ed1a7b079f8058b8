using Isola.Host.Hosting;

namespace Isola.Host.Build;

/// <summary>
/// Finds the pinned Deno binary: the configured one (<c>ISOLA_DENO</c>, checked at start), else the project-local install that
/// <c>./isola</c> makes under <c>.tools/deno</c> (searched upward from the host's folder), else PATH.
/// </summary>
internal static class DenoLocator
{
    private const string ProjectLocal = ".tools/deno/node_modules/@deno/linux-x64-glibc/deno";

    public static string Find(string? configured)
    {
        if (configured is not null)
        {
            return Path.GetFullPath(configured);
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, ProjectLocal);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, "deno");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new StartupException(
            "Deno was not found. './isola serve' installs the pinned version into .tools/deno; " +
            "elsewhere set ISOLA_DENO to a Deno 2.9 binary.");
    }
}
