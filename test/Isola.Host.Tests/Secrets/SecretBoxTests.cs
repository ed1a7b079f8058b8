using System.Security.Cryptography;
using Isola.Host.Secrets;

namespace Isola.Host.Tests.Secrets;

public sealed class SecretBoxTests
{
    private readonly SecretBox _box = new(RandomNumberGenerator.GetBytes(32));

    [Fact]
    public void Seal_then_Open_round_trips_and_never_repeats_a_ciphertext()
    {
        var first = _box.Seal("hello ünïcode", "env/f/A");
        var second = _box.Seal("hello ünïcode", "env/f/A");
        Assert.NotEqual(first, second); // fresh nonce each time
        Assert.Equal("hello ünïcode", _box.Open(first, "env/f/A"));
    }

    [Fact]
    public void Open_fails_on_another_key_other_associated_data_or_a_flipped_bit()
    {
        var sealedValue = _box.Seal("value", "env/f/A");
        Assert.ThrowsAny<CryptographicException>(() => new SecretBox(RandomNumberGenerator.GetBytes(32)).Open(sealedValue, "env/f/A"));
        Assert.ThrowsAny<CryptographicException>(() => _box.Open(sealedValue, "env/f/B"));
        var bytes = Convert.FromBase64String(sealedValue);
        bytes[^1] ^= 1;
        Assert.ThrowsAny<CryptographicException>(() => _box.Open(Convert.ToBase64String(bytes), "env/f/A"));
    }
}
