using System.Security.Cryptography;
using System.Text;

namespace Isola.Host.Secrets;

/// <summary>
/// AES-256-GCM for secrets at rest. Each value is sealed with a fresh 96-bit nonce and bound to
/// where it belongs (the associated data, e.g. "env/app/function/NAME"), so a ciphertext copied to
/// another row fails to open instead of decrypting there.
/// </summary>
internal sealed class SecretBox
{
    private const byte FormatVersion = 1;
    private const int NonceSize = 12;
    private const int TagSize = 16;
    private readonly byte[] _key;

    public SecretBox(byte[] key)
    {
        if (key.Length != 32)
        {
            throw new ArgumentException("the master key must be 32 bytes", nameof(key));
        }

        _key = key;
    }

    /// <summary>Returns base64 of version ‖ nonce ‖ ciphertext ‖ tag.</summary>
    public string Seal(string plaintext, string associatedData)
    {
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var sealedBytes = new byte[1 + NonceSize + plain.Length + TagSize];
        sealedBytes[0] = FormatVersion;
        var nonce = sealedBytes.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plain, sealedBytes.AsSpan(1 + NonceSize, plain.Length),
            sealedBytes.AsSpan(1 + NonceSize + plain.Length, TagSize), Encoding.UTF8.GetBytes(associatedData));
        return Convert.ToBase64String(sealedBytes);
    }

    /// <summary>Opens a value sealed by <see cref="Seal"/>; throws <see cref="CryptographicException"/> if the key or the associated data differ.</summary>
    public string Open(string sealedValue, string associatedData)
    {
        var bytes = Convert.FromBase64String(sealedValue);
        if (bytes.Length < 1 + NonceSize + TagSize || bytes[0] != FormatVersion)
        {
            throw new CryptographicException("not a sealed value of a known format");
        }

        var cipherLength = bytes.Length - 1 - NonceSize - TagSize;
        var plain = new byte[cipherLength];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(bytes.AsSpan(1, NonceSize), bytes.AsSpan(1 + NonceSize, cipherLength),
            bytes.AsSpan(1 + NonceSize + cipherLength, TagSize), plain, Encoding.UTF8.GetBytes(associatedData));
        return Encoding.UTF8.GetString(plain);
    }
}
