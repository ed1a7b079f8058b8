using Isola.Host.Errors;

namespace Isola.Host.Functions;

/// <summary>
/// A read-only view of a stream that refuses (413) once more than a set number of bytes has been read
/// through it. Wrapped around an archive's decompression stream it bounds everything that comes out of
/// it, headers and padding included, not only the file contents the archive declares.
/// </summary>
internal sealed class CappedReadStream(Stream inner, long cap, string field) : Stream
{
    /// <summary>Bytes read so far.</summary>
    public long BytesRead { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        // Ask for at most one byte past the cap: enough to know it was passed, never much more.
        var allowed = (int)Math.Min(buffer.Length, cap - BytesRead + 1);
        var read = inner.Read(buffer[..allowed]);
        BytesRead += read;
        if (BytesRead > cap)
        {
            throw new IsolaException(ErrorKind.TooLarge, ErrorCodes.PayloadTooLarge, $"the bundle unpacks to more than {cap} bytes, headers included; that is the limit") { Field = field };
        }

        return read;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
