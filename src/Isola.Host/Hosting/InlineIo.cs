namespace Isola.Host.Hosting;

/// <summary>
/// Socket completions and Kestrel's continuations run on the thread that saw the I/O instead of being handed to
/// the thread pool (decision 032, <see cref="IsolaOptions.InlineIo"/>): per gateway request that is two thread
/// wake-ups fewer. The host's code never blocks a thread on I/O (no sync-over-async), which is what this needs.
/// </summary>
internal static class InlineIo
{
    /// <summary>
    /// Sets the runtime's own switch, which System.Net.Sockets reads once, when the process makes its first socket:
    /// <c>serve</c> calls this after reading its settings and before starting anything.
    /// </summary>
    public static void Apply(bool inline) =>
        Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", inline ? "1" : "0");
}
