namespace Isola.Bench.JwtVerify;

/// <summary>The baseline's refusal, as the host threw it before decision 014.</summary>
internal sealed class HandWrittenJwtException(string message) : Exception(message);
