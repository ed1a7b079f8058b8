using System.Security.Cryptography;
using Isola.Host.Hosting;
using Npgsql;

namespace Isola.Host.Secrets;

/// <summary>
/// Loads the master key (kept outside the database, C5) and proves at start that it is the key the
/// database's secrets were sealed with, so a wrong key stops the node instead of yielding garbage.
/// </summary>
internal static class MasterKey
{
    private const string CheckSetting = "master_key_check";
    private const string CheckPlaintext = "isola master key check";

    public static byte[] Load(IsolaOptions options)
    {
        if (options.MasterKey is { } configured)
        {
            return Decode(configured, "ISOLA_MASTER_KEY");
        }

        var path = Path.Combine(options.DataDir, "master.key");
        if (File.Exists(path))
        {
            return Decode(File.ReadAllText(path).Trim(), path);
        }

        var key = RandomNumberGenerator.GetBytes(32);
        PrivateFile.Write(path, Convert.ToBase64String(key) + "\n");
        return key;
    }

    /// <summary>Stores the key check on first start; afterwards opens it and fails start on mismatch.</summary>
    public static async Task VerifyAsync(NpgsqlDataSource dataSource, SecretBox box, CancellationToken cancellationToken)
    {
        await using (var insert = dataSource.CreateCommand(
            "insert into isola.settings (key, value) values ($1, $2) on conflict (key) do nothing"))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = CheckSetting });
            insert.Parameters.Add(new NpgsqlParameter { Value = box.Seal(CheckPlaintext, CheckSetting) });
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var select = dataSource.CreateCommand("select value from isola.settings where key = $1");
        select.Parameters.Add(new NpgsqlParameter { Value = CheckSetting });
        var stored = (string)(await select.ExecuteScalarAsync(cancellationToken))!;
        try
        {
            if (box.Open(stored, CheckSetting) == CheckPlaintext)
            {
                return;
            }
        }
        catch (CryptographicException)
        {
        }
        catch (FormatException)
        {
        }

        throw new StartupException(
            "the master key does not match the key this database's secrets were encrypted with. " +
            "Start with the original key (ISOLA_MASTER_KEY or <data-dir>/master.key); secrets cannot be read without it.");
    }

    private static byte[] Decode(string base64, string source)
    {
        try
        {
            var key = Convert.FromBase64String(base64.Trim());
            if (key.Length == 32)
            {
                return key;
            }
        }
        catch (FormatException)
        {
        }

        throw new StartupException($"{source} must be the base64 encoding of exactly 32 bytes (create one with: openssl rand -base64 32)");
    }
}
