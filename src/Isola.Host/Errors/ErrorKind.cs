namespace Isola.Host.Errors;

/// <summary>
/// What kind of failure a domain error is, independent of any protocol. The edge maps a kind to its answer
/// (HTTP status: <c>Api/ErrorStatus.cs</c>), as YARP's forwarder returns a <c>ForwarderError</c> and one place maps it.
/// </summary>
internal enum ErrorKind
{
    /// <summary>The input is malformed or out of range.</summary>
    Invalid,

    /// <summary>No credentials, or credentials that prove nothing.</summary>
    Unauthenticated,

    /// <summary>Credentials that are valid but not enough.</summary>
    Forbidden,

    NotFound,

    /// <summary>The operation is not offered on this target (an HTTP method a function does not serve).</summary>
    NotAllowed,

    /// <summary>The target's state forbids it: it exists already, or changed underneath.</summary>
    Conflict,

    /// <summary>The input is over a size limit.</summary>
    TooLarge,

    /// <summary>The input arrived too slowly.</summary>
    TooSlow,

    /// <summary>The input is well formed but cannot be processed (code that does not build).</summary>
    Unprocessable,

    /// <summary>A dependency is down; retry later.</summary>
    Unavailable,

    /// <summary>The work did not finish within its time limit.</summary>
    Timeout,

    /// <summary>A bug or an unexpected failure of the platform.</summary>
    Internal,
}
