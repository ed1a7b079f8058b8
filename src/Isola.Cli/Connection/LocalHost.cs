namespace Isola.Cli.Connection;

/// <summary>The node's assembly on this machine, which <c>isola dev</c> starts.</summary>
internal static class LocalHost
{
    /// <summary>
    /// The host next to the CLI: ISOLA_HOST_DLL (the ./isola script sets it after building), else isola.dll in the
    /// CLI's own folder (a test build), else the repository's Release build.
    /// </summary>
    public static string FindDll()
    {
        if (Environment.GetEnvironmentVariable("ISOLA_HOST_DLL") is { Length: > 0 } configured)
        {
            return File.Exists(configured) ? configured : throw new CliException($"ISOLA_HOST_DLL={configured} does not exist");
        }

        var beside = Path.Combine(AppContext.BaseDirectory, "isola.dll");
        if (File.Exists(beside))
        {
            return beside;
        }

        var repository = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "Isola.Host", "bin", "Release", "net10.0", "isola.dll"));
        return File.Exists(repository) ? repository : throw new CliException("the host is not built: run 'isola dev' through the ./isola script (it builds it)");
    }
}
