using System.Buffers.Binary;

namespace Isola.Host.Hosting;

/// <summary>
/// UUIDv7 ids (RFC 9562: milliseconds since the epoch, then random bits), written as 32 lowercase hex digits like
/// <c>Guid.CreateVersion7().ToString("N")</c>, for invocations and events. Their random bits come from
/// <see cref="BufferedSecureRandom"/>: Guid.CreateVersion7 reads /dev/urandom on every call, a system call per request.
/// </summary>
internal static class TimeOrderedId
{
    public static string New() => New(DateTimeOffset.UtcNow);

    public static string New(DateTimeOffset at)
    {
        Span<byte> id = stackalloc byte[16];
        Span<byte> millis = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(millis, at.ToUnixTimeMilliseconds());
        millis[2..].CopyTo(id); // the low 48 bits
        BufferedSecureRandom.Fill(id[6..]);
        id[6] = (byte)(0x70 | (id[6] & 0x0F)); // version 7
        id[8] = (byte)(0x80 | (id[8] & 0x3F)); // variant 10
        return Convert.ToHexStringLower(id);
    }
}
