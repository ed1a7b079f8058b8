using System.Collections.Concurrent;
using Npgsql;

namespace Isola.Host.Workers;

/// <summary>
/// Bundles fetched from PostgreSQL by content hash, kept as files under <c>&lt;data-dir&gt;/artifacts</c>
/// so each node reads an artifact from the database once, however many workers load it.
/// </summary>
internal sealed class ArtifactCache(NpgsqlDataSource dataSource, string directory)
{
    private readonly ConcurrentDictionary<string, Task<string>> _files = new(StringComparer.Ordinal);

    public Task<string> GetPathAsync(string hash, CancellationToken cancellationToken)
    {
        var task = _files.GetOrAdd(hash, h => FetchAsync(h));
        if (task.IsFaulted)
        {
            _files.TryRemove(new KeyValuePair<string, Task<string>>(hash, task));
        }

        return task.WaitAsync(cancellationToken);
    }

    private async Task<string> FetchAsync(string hash)
    {
        var path = Path.Combine(directory, hash.Replace(':', '-') + ".mjs");
        if (File.Exists(path))
        {
            return path;
        }

        Directory.CreateDirectory(directory);
        await using var command = dataSource.CreateCommand("select content from isola.artifacts where hash = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = hash });
        var content = await command.ExecuteScalarAsync() as byte[]
            ?? throw new WorkerBootException($"artifact {hash} is missing from the database");
        // Write then rename, so a reader never sees half a bundle.
        var scratch = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        await File.WriteAllBytesAsync(scratch, content);
        File.Move(scratch, path, overwrite: true);
        return path;
    }
}
