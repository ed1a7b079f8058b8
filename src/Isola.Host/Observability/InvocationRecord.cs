namespace Isola.Host.Observability;

/// <summary>One finished invocation, as stored in <c>isola.invocations</c>; <see cref="Method"/> and <see cref="Path"/> are HTTP's only.</summary>
internal sealed record InvocationRecord(
    string Id,
    Guid FunctionId,
    int Version,
    DateTimeOffset StartedAt,
    double DurationMs,
    string? Method,
    string? Path,
    int Status,
    string? ErrorCode,
    string? ErrorMessage,
    string? ErrorStack,
    long? MemoryBytes,
    string CallerKind,
    string? UserId,
    string Trigger = "http");

/// <summary>One line of a function's console output.</summary>
internal sealed record LogLine(DateTimeOffset Timestamp, string Level, string Message);
