using System.CommandLine;

namespace Isola.Cli;

/// <summary>Options every verb takes (recursive on the root command).</summary>
internal static class GlobalOptions
{
    public static readonly Option<string?> Url = new("--url") { Description = "The node's URL (else ISOLA_URL, the login profile, http://127.0.0.1:8787)", Recursive = true };

    public static readonly Option<string?> Key = new("--key") { Description = "An API key (else ISOLA_API_KEY, the login profile, ./.isola/admin.key)", Recursive = true };

    public static readonly Option<string?> App = new("--app") { Description = "The app (default: default)", Recursive = true };

    public static readonly Option<bool> Json = new("--json") { Description = "Print the API's JSON, for scripts", Recursive = true };

    public static void AddTo(Command root)
    {
        root.Add(Url);
        root.Add(Key);
        root.Add(App);
        root.Add(Json);
    }
}
