namespace Isola.Client;

/// <summary>Where an <see cref="IsolaClient"/> connects and as whom.</summary>
public sealed class IsolaClientOptions
{
    /// <summary>The node's base URL, e.g. <c>http://127.0.0.1:8787</c>.</summary>
    public Uri BaseUrl { get; set; } = new("http://127.0.0.1:8787");

    /// <summary>
    /// Sent as <c>Authorization: Bearer</c>: an API key for the management API (and to call functions as the
    /// service role), or an app's anon, service or user token to call functions only. Null sends none.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>The app functions are deployed to and called in.</summary>
    public string App { get; set; } = "default";
}
