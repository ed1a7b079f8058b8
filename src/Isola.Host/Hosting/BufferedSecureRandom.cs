using System.Security.Cryptography;

namespace Isola.Host.Hosting;

/// <summary>
/// Bytes from the OS CSPRNG, fetched a page at a time per thread: one getrandom call per few hundred
/// capability tokens or invocation ids instead of one each (a system call per request showed in profiles).
/// The bytes are as unpredictable; a thread's unused buffer never leaves it, and handed-out bytes are wiped.
/// </summary>
internal static class BufferedSecureRandom
{
    [ThreadStatic]
    private static byte[]? _buffer;

    [ThreadStatic]
    private static int _used;

    public static void Fill(Span<byte> destination)
    {
        var buffer = _buffer ??= new byte[4096];
        if (_used == 0 || _used + destination.Length > buffer.Length)
        {
            RandomNumberGenerator.Fill(buffer);
            _used = 0;
        }

        buffer.AsSpan(_used, destination.Length).CopyTo(destination);
        buffer.AsSpan(_used, destination.Length).Clear(); // handed out once
        _used += destination.Length;
    }
}
