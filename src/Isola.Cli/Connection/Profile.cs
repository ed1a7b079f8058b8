using Tomlyn;
using Tomlyn.Model;

namespace Isola.Cli.Connection;

/// <summary>
/// What <c>isola login</c> saves: a URL, an API key and an app, in <c>$XDG_CONFIG_HOME/isola/profile.toml</c>
/// (else <c>~/.config/isola/profile.toml</c>), readable by its owner only (0600).
/// </summary>
internal sealed record Profile(string Url, string Key, string? App)
{
    public static string Path
    {
        get
        {
            var config = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg
                ? xdg
                : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
            return System.IO.Path.Combine(config, "isola", "profile.toml");
        }
    }

    public static Profile? Load()
    {
        var path = Path;
        if (!File.Exists(path))
        {
            return null;
        }

        TomlTable table;
        try
        {
            table = TomlSerializer.Deserialize<TomlTable>(File.ReadAllText(path))!;
        }
        catch (TomlException ex)
        {
            throw new CliException($"{path} is not valid TOML ({ex.Message}); run 'isola login' again or delete it");
        }

        return table.TryGetValue("url", out var url) && url is string u && table.TryGetValue("key", out var key) && key is string k
            ? new Profile(u, k, table.TryGetValue("app", out var app) ? app as string : null)
            : throw new CliException($"{path} needs 'url' and 'key'; run 'isola login --url URL --key KEY' again");
    }

    public void Save()
    {
        var path = Path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var table = new TomlTable { ["url"] = Url, ["key"] = Key };
        if (App is not null)
        {
            table["app"] = App;
        }

        var text = TomlSerializer.Serialize(table);
        // Created 0600 before the key is written, and kept 0600 if it existed with looser bits.
        using (var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        }))
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            using var writer = new StreamWriter(stream);
            writer.Write(text);
        }
    }
}
