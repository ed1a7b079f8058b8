namespace Isola.Client;

/// <summary>How to call a function: method, sub-path, headers and a body.</summary>
public sealed class InvokeOptions
{
    /// <summary>POST by default, as Supabase's <c>functions.invoke</c>.</summary>
    public HttpMethod Method { get; set; } = HttpMethod.Post;

    /// <summary>Appended to the function's URL (a wildcard sub-path, H4), e.g. <c>/users/7?active=1</c>.</summary>
    public string? Path { get; set; }

    /// <summary>Sent with the call. An <c>Authorization</c> header here is sent instead of the client's API key (to call as a user).</summary>
    public IDictionary<string, string> Headers { get; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Send no credentials at all: the function sees an anonymous caller, as a browser without a token.</summary>
    public bool Anonymous { get; set; }

    /// <summary>Sent as is; when null, the <c>body</c> argument of <see cref="IsolaClient.InvokeAsync{T}"/> is sent as JSON.</summary>
    public HttpContent? Content { get; set; }

    /// <summary>A typed function (query, mutation, action): the call goes to <c>POST /v1/{app}/api/fn/{name}</c>; <see cref="Path"/> does not apply.</summary>
    public bool Typed { get; set; }
}
