using System.Text.Json;

namespace Isola.Cli.Project;

/// <summary>
/// What <c>isola deploy</c> last deployed from this folder, per node, app and function: the content hash and the
/// version it made. A function is skipped when its hash is unchanged and the node still serves that very
/// version (an update, a rollback or a delete made elsewhere makes it deploy again). Kept in <c>.isola/deploys.json</c>.
/// </summary>
internal sealed class DeployState
{
    private readonly string _path;
    private readonly Dictionary<string, Entry> _entries;

    private DeployState(string path, Dictionary<string, Entry> entries)
    {
        _path = path;
        _entries = entries;
    }

    public sealed record Entry(string Hash, string Id, int Version);

    public static DeployState Load(string projectDir)
    {
        var path = Path.Combine(projectDir, ".isola", "deploys.json");
        try
        {
            return new DeployState(path, File.Exists(path)
                ? JsonSerializer.Deserialize<Dictionary<string, Entry>>(File.ReadAllText(path)) ?? []
                : []);
        }
        catch (JsonException)
        {
            return new DeployState(path, []); // a damaged record only costs a full deploy
        }
    }

    public Entry? Find(Uri url, string app, string name) => _entries.GetValueOrDefault(Key(url, app, name));

    public void Record(Uri url, string app, string name, Entry entry) => _entries[Key(url, app, name)] = entry;

    public void Save()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var temporary = _path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(_entries, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, _path, overwrite: true);
    }

    private static string Key(Uri url, string app, string name) => $"{url.AbsoluteUri.TrimEnd('/')} {app} {name}";
}
