namespace Isola.Host.Build;

/// <summary>One bundled ES module, addressed by the SHA-256 of its bytes.</summary>
/// <param name="UsesFunctionsModule">The code imports <c>@isola/functions</c> (or <c>@pylonsync/functions</c>): it may be a typed function.</param>
internal sealed record BuildArtifact(string Hash, byte[] Content, bool UsesFunctionsModule = false);
