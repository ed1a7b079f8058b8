using System.Text.Json;

namespace Isola.Host.Workers.Calls;

/// <summary>One call from a function to the host, already matched to its invocation's grant.</summary>
internal sealed record HostCall(string Op, JsonElement Args, CapabilityGrant Grant, string Capability);
