using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Isola.Client;

/// <summary>
/// A client for one Isola node and app: call functions (<see cref="InvokeAsync{T}"/>, <see cref="CallAsync{TArgs, TResult}"/>)
/// and manage them (<see cref="Functions"/>, <see cref="Secrets"/>, <see cref="Database"/>, <see cref="Events"/>, <see cref="Apps"/>).
/// Thread-safe; keep one per node and app, or let <c>services.AddIsolaClient(...)</c> make it over IHttpClientFactory.
/// </summary>
public sealed class IsolaClient : IDisposable
{
    /// <summary>camelCase, as the API speaks; used for every body sent and every answer read.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _baseUrl;

    /// <summary>Uses <paramref name="http"/> as given (its BaseAddress is ignored; <paramref name="options"/> says where).</summary>
    public IsolaClient(HttpClient http, IsolaClientOptions options)
        : this(http, options.BaseUrl, options.ApiKey, options.App, ownsHttp: false)
    {
    }

    private IsolaClient(HttpClient http, Uri baseUrl, string? apiKey, string app, bool ownsHttp)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentException.ThrowIfNullOrEmpty(app);
        _http = http;
        _ownsHttp = ownsHttp;
        // A trailing slash makes relative paths land under a base path (https://host/isola/ + v1/...).
        _baseUrl = baseUrl.AbsoluteUri.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
        ApiKey = apiKey;
        App = app;
        Functions = new FunctionsApi(this);
        Secrets = new SecretsApi(this);
        Database = new DatabaseApi(this);
        Events = new EventsApi(this);
        Apps = new AppsApi(this);
    }

    /// <summary>A client that owns its own HttpClient (disposed with it).</summary>
    public static IsolaClient Create(Uri baseUrl, string? apiKey = null, string app = "default") =>
        new(new HttpClient { Timeout = Timeout.InfiniteTimeSpan }, baseUrl, apiKey, app, ownsHttp: true);

    public Uri BaseUrl => _baseUrl;

    public string App { get; }

    internal string? ApiKey { get; }

    /// <summary>Deploy, read, update, delete, version and roll back functions; their logs and stats.</summary>
    public FunctionsApi Functions { get; }

    /// <summary>App-wide secrets and a function's own env vars (names only come back).</summary>
    public SecretsApi Secrets { get; }

    /// <summary>The app's database: migrations and operator queries.</summary>
    public DatabaseApi Database { get; }

    /// <summary>Publish events to the app's subscribers.</summary>
    public EventsApi Events { get; }

    /// <summary>List and create apps.</summary>
    public AppsApi Apps { get; }

    /// <summary>The same node and key for another app; shares this client's HttpClient.</summary>
    public IsolaClient ForApp(string app) => new(_http, _baseUrl, ApiKey, app, ownsHttp: false);

    /// <summary>
    /// Calls a function and reads its JSON answer as <typeparamref name="T"/> (a string <typeparamref name="T"/> takes
    /// the body as text). <paramref name="body"/> goes as JSON unless <paramref name="options"/> carries content.
    /// A status of 400 or more throws <see cref="IsolaFunctionException"/> (the function's own) or
    /// <see cref="IsolaApiException"/> (Isola's, e.g. FUNCTION_NOT_FOUND, FUNCTION_TIMEOUT).
    /// </summary>
    public async Task<T?> InvokeAsync<T>(string name, object? body = null, InvokeOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new InvokeOptions();
        if (options.Content is null && body is not null)
        {
            options.Content = JsonContent.Create(body, body.GetType(), options: JsonOptions);
        }

        var response = await SendAsync(name, options, cancellationToken).ConfigureAwait(false);
        ThrowIfFailed(name, response);
        if (typeof(T) == typeof(string))
        {
            return (T)(object)response.Text;
        }

        if (typeof(T) == typeof(byte[]))
        {
            return (T)(object)response.Body;
        }

        return response.Body.Length == 0 ? default : JsonSerializer.Deserialize<T>(response.Body, JsonOptions);
    }

    /// <summary>
    /// Calls a typed function: <paramref name="args"/> as a JSON body, the JSON answer as <typeparamref name="TResult"/>.
    /// Failures throw as in <see cref="InvokeAsync{T}"/>.
    /// </summary>
    public Task<TResult?> CallAsync<TArgs, TResult>(string name, TArgs args, CancellationToken cancellationToken = default) =>
        InvokeAsync<TResult>(name, null, new InvokeOptions { Typed = true, Content = JsonContent.Create(args, options: JsonOptions) }, cancellationToken);

    /// <summary>Calls a function and returns its answer whatever the status; only a network failure throws.</summary>
    public async Task<InvocationResponse> SendAsync(string name, InvokeOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var path = options.Typed
            ? $"v1/{Uri.EscapeDataString(App)}/api/fn/{Uri.EscapeDataString(name)}"
            : $"v1/{Uri.EscapeDataString(App)}/fn/{Uri.EscapeDataString(name)}{options.Path ?? ""}";
        using var request = new HttpRequestMessage(options.Method, new Uri(_baseUrl, path)) { Content = options.Content };
        foreach (var (header, value) in options.Headers)
        {
            if (!request.Headers.TryAddWithoutValidation(header, value))
            {
                request.Content ??= new ByteArrayContent([]);
                request.Content.Headers.Remove(header);
                request.Content.Headers.TryAddWithoutValidation(header, value);
            }
        }

        // The caller's own credentials (a user's token), or none, instead of the client's key.
        if (!options.Anonymous && !options.Headers.ContainsKey("Authorization"))
        {
            Authorize(request);
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var headers = response.Headers.Concat(response.Content.Headers)
            .GroupBy(header => header.Key, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(group => group.Key.ToLowerInvariant(), group => string.Join(", ", group.SelectMany(header => header.Value)), StringComparer.OrdinalIgnoreCase);
        return new InvocationResponse((int)response.StatusCode, response.Content.Headers.ContentType?.ToString(), headers, body);
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    /// <summary>A management call: sends <paramref name="content"/>, returns the JSON answer, throws <see cref="IsolaApiException"/> on an error.</summary>
    internal async Task<JsonElement> SendJsonAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(_baseUrl, path)) { Content = content };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        Authorize(request);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw ToApiException((int)response.StatusCode, body);
        }

        if (body.Length == 0)
        {
            return default;
        }

        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            throw new IsolaApiException((int)response.StatusCode, "BAD_RESPONSE", $"{request.RequestUri} answered {(int)response.StatusCode} with a body that is not JSON; is it an Isola node?");
        }
    }

    /// <summary>A GET whose answer is read as it arrives (a stream of events); throws <see cref="IsolaApiException"/> on an error status.</summary>
    internal async Task<HttpResponseMessage> OpenStreamAsync(string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_baseUrl, path));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        Authorize(request);
        var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            using (response)
            {
                throw ToApiException((int)response.StatusCode, await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false));
            }
        }

        return response;
    }

    internal Task<JsonElement> SendJsonAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken) =>
        SendJsonAsync(method, path, body is null ? null : JsonContent.Create(body, body.GetType(), options: JsonOptions), cancellationToken);

    /// <summary><c>v1/{app}/</c> plus <paramref name="rest"/>.</summary>
    internal string AppPath(string rest) => $"v1/{Uri.EscapeDataString(App)}/{rest}";

    private void Authorize(HttpRequestMessage request)
    {
        if (ApiKey is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        }
    }

    private static void ThrowIfFailed(string name, InvocationResponse response)
    {
        if (response.IsSuccess)
        {
            return;
        }

        // x-relay-error marks Isola's own answers (not found, timeout, crash …), as Supabase's relay does.
        if (response.Headers.ContainsKey("x-relay-error") || response.PlatformErrorCode is not null)
        {
            throw ToApiException(response.Status, response.Body);
        }

        throw new IsolaFunctionException(name, response.Status, response.ContentType, response.Body);
    }

    private static IsolaApiException ToApiException(int status, byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out var error) &&
                error.ValueKind == JsonValueKind.Object)
            {
                return new IsolaApiException(status,
                    error.TryGetProperty("code", out var code) ? code.GetString() ?? "" : "",
                    error.TryGetProperty("message", out var message) ? message.GetString() ?? "" : "",
                    error.TryGetProperty("field", out var field) && field.ValueKind == JsonValueKind.String ? field.GetString() : null);
            }
        }
        catch (JsonException)
        {
        }

        var text = System.Text.Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 300))).Trim();
        return new IsolaApiException(status, $"HTTP_{status}", text.Length > 0 ? text : $"the server answered {status}");
    }
}
