namespace Isola.Host.Hosting;

/// <summary>This node's id among the nodes sharing one database (who holds a lease, who ran what).</summary>
internal sealed class NodeIdentity { public string Id { get; } = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..]; }
