namespace Isola.Host.Hosting;

internal sealed class NodeIdentity { public string Id { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..]; }
