using Isola.Host.Workers;
namespace Isola.Host.Gateway;

/// <summary>
/// Which request headers reach a function. With <c>passAllHeaders</c> false (the default, H5) only the
/// safe set below does; hop-by-hop headers and the platform's own envelope never do.
/// </summary>
internal static class ForwardedHeaders
{
    /// <summary>Documented in docs/invoking.md; content negotiation, auth, caching, CORS and client hints.</summary>
    public static readonly HashSet<string> Safe = new(StringComparer.OrdinalIgnoreCase)
    {
        "accept", "accept-encoding", "accept-language", "authorization", "apikey", "cache-control",
        "content-type", "content-length", "content-encoding", "content-language",
        "if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "range",
        "origin", "referer", "user-agent", "x-client-info", "x-request-id", "traceparent", "tracestate",
        "access-control-request-method", "access-control-request-headers", "x-region",
    };

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host",
    };

    public static bool ShouldForward(string name, bool passAll) =>
        !HopByHop.Contains(name) &&
        !name.StartsWith(WorkerProtocol.EnvelopePrefix, StringComparison.OrdinalIgnoreCase) &&
        (passAll || Safe.Contains(name));

    /// <summary>Response headers not copied back to the client (Kestrel frames the body itself).</summary>
    public static bool ShouldReturn(string name) =>
        !HopByHop.Contains(name) && !name.Equals(WorkerProtocol.ErrorHeader, StringComparison.OrdinalIgnoreCase);
}
