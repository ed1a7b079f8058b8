using Isola.Host.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Isola.Host.Api;

/// <summary>
/// The base of every <c>endpoint</c> link the API returns: <c>ISOLA_PUBLIC_URL</c>, else the address the node
/// bound. Resolved once. Never built from the request's <c>Host</c> header: a caller could make the API hand
/// out links to a host of their choosing (and caches or logs would keep them).
/// </summary>
internal sealed class PublicBaseUrl(IsolaOptions options, IServer server)
{
    private string? _value;
    private string? _authority;

    public string Value => _value ??= Resolve();

    /// <summary>The host and port of <see cref="Value"/>: the Host header of invocations that did not come over HTTP.</summary>
    public string Authority => _authority ??= new Uri(Value).Authority;

    private string Resolve()
    {
        if (options.PublicUrl is { } configured)
        {
            return configured.GetLeftPart(UriPartial.Path).TrimEnd('/');
        }

        // Read after start: with port 0 only the server knows the port it got.
        var bound = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? $"http://{options.BindAddress}:{options.Port}";
        return bound.TrimEnd('/');
    }
}
