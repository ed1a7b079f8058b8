namespace Isola.Host.Auth;

/// <summary>A token that is malformed, badly signed or not valid now; the message says which.</summary>
internal sealed class JwtException(string message) : Exception(message);
