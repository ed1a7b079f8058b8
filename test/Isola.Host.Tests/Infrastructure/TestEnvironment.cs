namespace Isola.Host.Tests.Infrastructure;

/// <summary>
/// Where the tests find the repository, the pinned Deno, the built host and scratch space; the one
/// place that knows these paths (as Wolverine's Servers.cs does).
/// </summary>
internal static class TestEnvironment
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string DenoPath { get; } = Environment.GetEnvironmentVariable("ISOLA_DENO") is { Length: > 0 } configured
        ? configured
        : Path.Combine(RepoRoot, ".tools/deno/node_modules/@deno/linux-x64-glibc/deno");

    /// <summary>The host assembly next to the tests, run out of process with <c>dotnet isola.dll</c>.</summary>
    public static string HostDll { get; } = Path.Combine(AppContext.BaseDirectory, "isola.dll");

    /// <summary>One Deno module cache for every test server, so an npm package downloads once per run.</summary>
    public static string SharedDenoCache { get; } = CreateScratch("deno-cache", deleteOnExit: false);

    /// <summary>The text of a checked-in fixture file, e.g. <c>gateway/limits/index.ts</c> under test/fixtures.</summary>
    public static string Fixture(string relativePath) =>
        File.ReadAllText(Path.Combine(RepoRoot, "test", "fixtures", relativePath));

    /// <summary>A fresh folder under /tmp (short paths keep Unix socket paths under their limit).</summary>
    public static string CreateScratch(string purpose, bool deleteOnExit = true)
    {
        var path = Path.Combine(Path.GetTempPath(), $"isola-test-{purpose}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>A fresh folder under /tmp deleted when disposed (declare it before what runs in it, so that goes first).</summary>
    public static ScratchFolder Scratch(string purpose) => new(CreateScratch(purpose));

    public static void DeleteScratch(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // A file still held by a process being torn down; /tmp is cleaned eventually.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Isola.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("tests must run inside the repository (Isola.slnx not found above " + AppContext.BaseDirectory + ")");
    }
}

/// <summary>A scratch folder that deletes itself: <c>using var scratch = TestEnvironment.Scratch("x");</c>.</summary>
internal sealed record ScratchFolder(string Path) : IDisposable
{
    public void Dispose() => TestEnvironment.DeleteScratch(Path);
}
