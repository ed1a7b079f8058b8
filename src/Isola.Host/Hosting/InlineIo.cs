namespace Isola.Host.Hosting;

/// <summary>
/// Socket completions and Kestrel's continuations run on the thread that saw the I/O instead of being handed to
/// the thread pool (decision 032): per gateway request that is two thread wake-ups fewer. The host's code never
/// blocks a thread on I/O (no sync-over-async), which is what this needs. <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0</c>
/// in the environment turns both off.
/// </summary>
internal static class InlineIo
{
    private const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Whether Kestrel should schedule inline too; true unless the operator set the variable to something else.</summary>
    public static bool Enabled => Environment.GetEnvironmentVariable(Variable) == "1";

    /// <summary>
    /// Sets the runtime's variable unless the operator did. System.Net.Sockets reads it once, when the first socket
    /// is made, so this runs first thing in <c>serve</c>.
    /// </summary>
    public static void ApplyDefault()
    {
        if (Environment.GetEnvironmentVariable(Variable) is null)
        {
            Environment.SetEnvironmentVariable(Variable, "1");
        }
    }
}
