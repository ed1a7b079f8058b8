using Isola.Host.Hosting;

namespace Isola.Host.Tests.Hosting;

/// <summary>Invocation and event ids are UUIDv7 written as 32 hex digits, ordered by their millisecond.</summary>
public sealed class TimeOrderedIdTests
{
    [Fact]
    public void An_id_is_a_version_7_uuid_that_carries_its_millisecond()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_796_225_224_846);
        var id = TimeOrderedId.New(at);

        Assert.Matches("^[0-9a-f]{32}$", id);
        var guid = Guid.ParseExact(id, "N");
        Assert.Equal(7, guid.Version);
        Assert.Equal(0b10, guid.Variant >> 2); // RFC 9562 variant: the two high bits 10
        Assert.Equal(at.ToUnixTimeMilliseconds(), Convert.ToInt64(id[..12], 16));
    }

    [Fact]
    public void Ids_sort_by_time_and_never_repeat()
    {
        var earlier = TimeOrderedId.New(DateTimeOffset.FromUnixTimeMilliseconds(1_796_225_224_846));
        var later = TimeOrderedId.New(DateTimeOffset.FromUnixTimeMilliseconds(1_796_225_224_847));
        Assert.True(string.CompareOrdinal(earlier, later) < 0);

        // Within one millisecond and across more than one buffer of random bytes (4096 / 10 per id).
        var sameMillisecond = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 2_000).Select(_ => TimeOrderedId.New(sameMillisecond)).ToHashSet();
        Assert.Equal(2_000, ids.Count);
    }
}
