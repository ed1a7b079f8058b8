using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace Isola.Host.Data.AppDatabases;

/// <summary>
/// Signs the claims the host puts in <c>request.jwt.claims</c>. Any role may set a custom setting,
/// so SQL run as <c>authenticated</c> could otherwise call <c>set_config('request.jwt.claims', …)</c>
/// and become another user for <c>auth.uid()</c>. <c>auth.jwt()</c> recomputes this HMAC with a key
/// only the app's owner role can read and refuses claims that do not match (decision 012).
/// </summary>
internal sealed class ClaimsSigner(byte[] masterKey)
{
    private const int BlockSize = 64;

    // One key per app database, derived once: a ctx.db call signs its caller's claims, and deriving the key again
    // each time doubled the HMAC work on that path.
    private readonly ConcurrentDictionary<string, byte[]> _keys = new(StringComparer.Ordinal);

    /// <summary>HMAC-SHA256 of the claims text under the database's key, lower-case hex, as <c>auth.jwt()</c> computes it.</summary>
    public string Sign(string database, string claimsJson) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Key(database), Encoding.UTF8.GetBytes(claimsJson)));

    /// <summary>
    /// The key as HMAC's two padded blocks, so SQL computes HMAC with two calls of the built-in
    /// <c>sha256()</c> (no pgcrypto needed): <c>sha256(outer || sha256(inner || message))</c>.
    /// </summary>
    public (byte[] Inner, byte[] Outer) Pads(string database)
    {
        var key = Key(database);
        var inner = new byte[BlockSize];
        var outer = new byte[BlockSize];
        for (var i = 0; i < BlockSize; i++)
        {
            var b = i < key.Length ? key[i] : (byte)0;
            inner[i] = (byte)(b ^ 0x36);
            outer[i] = (byte)(b ^ 0x5c);
        }

        return (inner, outer);
    }

    /// <summary>Password of an installation login role, derived so every node of the installation agrees without storing it.</summary>
    public string LoginPassword(string role) =>
        Convert.ToBase64String(HMACSHA256.HashData(masterKey, Encoding.UTF8.GetBytes("isola/db-login/" + role)))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private byte[] Key(string database) =>
        _keys.GetOrAdd(database, static (name, master) => HMACSHA256.HashData(master, Encoding.UTF8.GetBytes("isola/db-claims/" + name)), masterKey);
}
