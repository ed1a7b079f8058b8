using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Isola.Client;

namespace Isola.Cli.Project;

/// <summary>A function of a project folder, ready to upload: its files (with <c>../_shared/</c>) and its deploy settings.</summary>
internal sealed record LocalFunction(string Name, string Folder, SortedDictionary<string, byte[]> Files, string Entrypoint, JsonObject Settings)
{
    /// <summary>SHA-256 over the settings and every file's path and bytes: equal hashes, equal deploys.</summary>
    public string ContentHash
    {
        get
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            hash.AppendData(Encoding.UTF8.GetBytes(Settings.ToJsonString()));
            hash.AppendData(Encoding.UTF8.GetBytes("\0" + Entrypoint + "\0"));
            foreach (var (path, bytes) in Files)
            {
                hash.AppendData(Encoding.UTF8.GetBytes($"{path}\0{bytes.Length}\0"));
                hash.AppendData(bytes);
            }

            return Convert.ToHexStringLower(hash.GetHashAndReset());
        }
    }

    public FunctionDeployment ToDeployment() => new()
    {
        Files = new Dictionary<string, byte[]>(Files, StringComparer.Ordinal),
        Entrypoint = Entrypoint,
        Settings = (JsonObject)Settings.DeepClone(),
    };
}
