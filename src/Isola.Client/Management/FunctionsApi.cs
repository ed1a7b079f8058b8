using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Isola.Client;

/// <summary>The deploy API, <c>/v1/{app}/functions</c> (docs/functions-api.md).</summary>
public sealed class FunctionsApi
{
    private readonly IsolaClient _client;

    internal FunctionsApi(IsolaClient client) => _client = client;

    public async Task<IReadOnlyList<FunctionInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        var answer = await _client.SendJsonAsync(HttpMethod.Get, _client.AppPath("functions"), null, cancellationToken).ConfigureAwait(false);
        return answer.GetProperty("functions").Deserialize<List<FunctionInfo>>(IsolaClient.JsonOptions)!;
    }

    /// <summary>Metadata without the source; throws <see cref="IsolaApiException"/> with FUNCTION_NOT_FOUND when there is none.</summary>
    public Task<FunctionInfo> GetAsync(string name, CancellationToken cancellationToken = default) =>
        ReadAsync(HttpMethod.Get, Path(name), null, cancellationToken);

    /// <summary>Metadata with the source (<see cref="FunctionInfo.Code"/> or <see cref="FunctionInfo.Files"/>).</summary>
    public Task<FunctionInfo> GetConfigAsync(string name, CancellationToken cancellationToken = default) =>
        ReadAsync(HttpMethod.Get, Path(name, "/config"), null, cancellationToken);

    /// <summary>Deploys a new function (version 1); FUNCTION_EXISTS when the name is taken.</summary>
    public Task<FunctionInfo> DeployAsync(string name, FunctionDeployment deployment, CancellationToken cancellationToken = default) =>
        ReadAsync(HttpMethod.Post, _client.AppPath("functions"), Content(name, deployment), cancellationToken);

    /// <summary>Updates any part of a function as a new version; what <paramref name="changes"/> leaves out is kept.</summary>
    public Task<FunctionInfo> UpdateAsync(string name, FunctionDeployment changes, CancellationToken cancellationToken = default) =>
        ReadAsync(HttpMethod.Put, Path(name), Content(null, changes), cancellationToken);

    /// <summary>Deletes the function with all its versions.</summary>
    public Task DeleteAsync(string name, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync(HttpMethod.Delete, Path(name), null, cancellationToken);

    /// <summary><c>{name, current, versions: [{version, current, createdAt, artifact, envVars, settings}]}</c>, newest first.</summary>
    public Task<JsonElement> VersionsAsync(string name, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync(HttpMethod.Get, Path(name, "/versions"), null, cancellationToken);

    /// <summary>Points the function back at an earlier version; VERSION_NOT_FOUND when there is no such version.</summary>
    public Task<FunctionInfo> RollbackAsync(string name, int version, CancellationToken cancellationToken = default) =>
        ReadAsync(HttpMethod.Post, Path(name, "/rollback"), new JsonObject { ["version"] = version }, cancellationToken);

    /// <summary>The invocation log, newest first: <c>{name, invocations: [{id, startedAt, status, durationMs, logs, error …}]}</c>.</summary>
    public Task<JsonElement> LogsAsync(string name, LogQuery? query = null, CancellationToken cancellationToken = default)
    {
        var parameters = new List<string>();
        if (query is not null)
        {
            Add(parameters, "status", query.Status?.ToString(CultureInfo.InvariantCulture));
            Add(parameters, "errors", query.ErrorsOnly ? "true" : null);
            Add(parameters, "since", query.Since?.ToString("O", CultureInfo.InvariantCulture));
            Add(parameters, "until", query.Until?.ToString("O", CultureInfo.InvariantCulture));
            Add(parameters, "limit", query.Limit?.ToString(CultureInfo.InvariantCulture));
        }

        var suffix = parameters.Count == 0 ? "" : "?" + string.Join('&', parameters);
        return _client.SendJsonAsync(HttpMethod.Get, Path(name, "/logs" + suffix), null, cancellationToken);
    }

    /// <summary>
    /// The app's console output as functions print it (one function's with <paramref name="function"/>), until
    /// <paramref name="cancellationToken"/> is cancelled or the node closes the stream. Lines printed on other nodes are not seen.
    /// </summary>
    public async IAsyncEnumerable<ConsoleLine> FollowLogsAsync(string? function = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var path = _client.AppPath("logs/stream" + (function is null ? "" : "?function=" + Uri.EscapeDataString(function)));
        using var response = await _client.OpenStreamAsync(path, cancellationToken).ConfigureAwait(false);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
        var eventName = "";
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                eventName = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                var data = line["data: ".Length..];
                yield return eventName == "dropped" ? Dropped(data) : JsonSerializer.Deserialize<ConsoleLine>(data, IsolaClient.JsonOptions)!;
            }
            else if (line.Length == 0)
            {
                eventName = "";
            }
        }
    }

    /// <summary>The node's note that lines were dropped because this reader fell behind, as a line of its own.</summary>
    private static ConsoleLine Dropped(string data)
    {
        using var document = JsonDocument.Parse(data);
        var count = document.RootElement.GetProperty("dropped").GetInt64();
        return new ConsoleLine("", 0, null, "warn", $"[{count} lines dropped: this reader fell behind]", DateTimeOffset.UtcNow);
    }

    /// <summary>Counts, error rate and duration percentiles, optionally since a time.</summary>
    public Task<JsonElement> StatsAsync(string name, DateTimeOffset? since = null, CancellationToken cancellationToken = default) =>
        _client.SendJsonAsync(HttpMethod.Get, Path(name, "/stats" + (since is { } time ? "?since=" + Uri.EscapeDataString(time.ToString("O", CultureInfo.InvariantCulture)) : "")),
            null, cancellationToken);

    private async Task<FunctionInfo> ReadAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        var content = body as HttpContent ?? (body is null ? null : new StringContent(((JsonNode)body).ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        var answer = await _client.SendJsonAsync(method, path, content, cancellationToken).ConfigureAwait(false);
        return answer.Deserialize<FunctionInfo>(IsolaClient.JsonOptions)!;
    }

    private string Path(string name, string rest = "")
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return _client.AppPath("functions/" + Uri.EscapeDataString(name) + rest);
    }

    /// <summary>JSON for code and settings; multipart (metadata + a .tar.gz bundle) for files, so binary files travel too.</summary>
    private static HttpContent Content(string? name, FunctionDeployment deployment)
    {
        var metadata = (JsonObject)deployment.Settings.DeepClone();
        if (name is not null)
        {
            metadata["name"] = name;
        }

        if (deployment.Entrypoint is not null)
        {
            metadata["entrypoint"] = deployment.Entrypoint;
        }

        if (deployment.Files is null)
        {
            if (deployment.Code is not null)
            {
                metadata["code"] = deployment.Code;
            }

            return new StringContent(metadata.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        }

        var bundle = new ByteArrayContent(SourceBundle.Pack(deployment.Files));
        bundle.Headers.ContentType = new MediaTypeHeaderValue("application/gzip");
        return new MultipartFormDataContent
        {
            { new StringContent(metadata.ToJsonString(), System.Text.Encoding.UTF8, "application/json"), "metadata" },
            { bundle, "bundle", "bundle.tar.gz" },
        };
    }

    private static void Add(List<string> parameters, string name, string? value)
    {
        if (value is not null)
        {
            parameters.Add(name + "=" + Uri.EscapeDataString(value));
        }
    }
}
