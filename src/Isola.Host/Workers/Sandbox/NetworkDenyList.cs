using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;

namespace Isola.Host.Workers.Sandbox;

/// <summary>
/// The addresses a worker may not connect to, as Deno <c>--deny-net</c> entries. Deno 2.9 checks
/// these against the resolved address of every connect, fetch, WebSocket and listen (names,
/// decimal/hex/octal/short IPv4 forms and IPv4-mapped IPv6 included; probed in decision 009), but
/// it takes IPv6 addresses only one by one: the IPv6 ranges are left to the runtime's guard.
/// </summary>
internal static class NetworkDenyList
{
    /// <summary>Loopback, "this network", RFC 1918, shared (CGNAT), link-local, multicast and reserved IPv4.</summary>
    private static readonly string[] PrivateIPv4 =
    [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
    ];

    /// <summary>Never reachable, not even with allowPrivate: cloud metadata (credentials) and the wildcard addresses.</summary>
    private static readonly string[] AlwaysDenied = ["169.254.0.0/16", "[fd00:ec2::254]", "[fe80::a9fe:a9fe]", "0.0.0.0", "[::]"];

    private static readonly Lazy<IReadOnlyList<IPAddress>> HostAddressList = new(ReadHostAddresses);

    /// <summary>The host's own interface addresses (read once: a listen or connect to them reaches the host's services).</summary>
    public static IReadOnlyList<IPAddress> HostAddresses => HostAddressList.Value;

    public static IReadOnlyList<string> For(bool allowPrivate, int hostPort)
    {
        var denied = new List<string>(AlwaysDenied);
        if (!allowPrivate)
        {
            denied.AddRange(PrivateIPv4);
            denied.Add("[::1]");
            denied.AddRange(HostAddresses.Select(Entry));
        }
        else if (hostPort > 0)
        {
            // The node's own port stays closed on every local address a function can name.
            denied.AddRange([$"127.0.0.1:{hostPort}", $"localhost:{hostPort}", $"[::1]:{hostPort}"]);
            denied.AddRange(HostAddresses.Select(address => $"{Entry(address)}:{hostPort}"));
        }

        return [.. denied.Distinct()];
    }

    private static string Entry(IPAddress address) =>
        address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{new IPAddress(address.GetAddressBytes())}]" : address.ToString();

    private static IReadOnlyList<IPAddress> ReadHostAddresses()
    {
        try
        {
            return
            [
                .. NetworkInterface.GetAllNetworkInterfaces()
                    .SelectMany(nic => nic.GetIPProperties().UnicastAddresses)
                    .Select(unicast => unicast.Address)
                    .Where(address => address.AddressFamily is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6)
                    .Where(address => !IPAddress.IsLoopback(address))
                    .Distinct(),
            ];
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    }
}
