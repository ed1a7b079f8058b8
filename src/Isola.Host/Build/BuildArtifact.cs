namespace Isola.Host.Build;

/// <summary>One bundled ES module, addressed by the SHA-256 of its bytes.</summary>
internal sealed record BuildArtifact(string Hash, byte[] Content);
