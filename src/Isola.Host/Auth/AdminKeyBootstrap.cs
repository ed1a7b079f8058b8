using Isola.Host.Hosting;

namespace Isola.Host.Auth;

/// <summary>
/// Makes sure a node always has an admin key someone can use: the one given in <c>ISOLA_ADMIN_KEY</c>,
/// else the one in <c>&lt;data-dir&gt;/admin.key</c> (0600, for local tools), else a new one written there.
/// </summary>
internal static class AdminKeyBootstrap
{
    /// <summary>The key in effect, and whether it was created by this start (the only time it is printed).</summary>
    public sealed record Result(string Key, bool Created, string? File);

    public static async Task<Result> EnsureAsync(IsolaOptions options, ApiKeyStore store, CancellationToken cancellationToken)
    {
        string[] admin = [ApiKey.AdminPermission];
        if (options.AdminKey is { } given)
        {
            await store.InsertIfMissingAsync(given, "admin (ISOLA_ADMIN_KEY)", admin, cancellationToken);
            return new Result(given, Created: false, File: null);
        }

        var path = Path.Combine(options.DataDir, "admin.key");
        if (File.Exists(path))
        {
            var existing = (await File.ReadAllTextAsync(path, cancellationToken)).Trim();
            // A data dir reused against a fresh database: register the key it already holds.
            await store.InsertIfMissingAsync(existing, "admin", admin, cancellationToken);
            return new Result(existing, Created: false, path);
        }

        var key = ApiKeyStore.Generate();
        await store.InsertIfMissingAsync(key, "admin", admin, cancellationToken);
        PrivateFile.Write(path, key + "\n");
        return new Result(key, Created: true, path);
    }
}
