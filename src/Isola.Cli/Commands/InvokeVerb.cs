using System.CommandLine;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Isola.Client;

namespace Isola.Cli.Commands;

/// <summary>
/// <c>isola invoke NAME [METHOD] [BODY] [-H k:v] [--anonymous]</c> (MolnOS's form): calls the function with the CLI's
/// key (as the service role), a user's token given as <c>-H 'Authorization: Bearer …'</c>, or nothing, and prints its answer; a typed function gets BODY as its arguments at <c>/api/fn</c>. A status of 400
/// or more exits 1, with Isola's code when Isola answered.
/// </summary>
internal static class InvokeVerb
{
    private static readonly string[] HttpMethods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

    public static Command Create()
    {
        var name = FunctionVerbs.NameArgument();
        var rest = new Argument<string[]>("method-and-body") { Description = "[METHOD] [BODY]; BODY may be @file or - for stdin", Arity = new ArgumentArity(0, 2) };
        var headers = new Option<string[]>("--header", "-H") { Description = "A request header, 'Name: value' (repeatable)", AllowMultipleArgumentsPerToken = false };
        var path = new Option<string?>("--path") { Description = "A sub-path after the function's URL, e.g. /users/7?active=1" };
        var anonymous = new Option<bool>("--anonymous") { Description = "Call with no credentials, as a browser without a token (-H 'Authorization: Bearer TOKEN' calls as a user)" };
        var command = new Command("invoke", "Call a function and print its answer") { name, rest, headers, path, anonymous };
        return command.WithAction(async (context, cancellationToken) =>
        {
            var (method, body) = MethodAndBody(context.Get(rest) ?? []);
            var options = new InvokeOptions { Method = new HttpMethod(method ?? (body is null ? "GET" : "POST")), Path = context.Get(path), Anonymous = context.Get(anonymous) };
            if (body is not null)
            {
                var bytes = await ReadBodyAsync(body, cancellationToken);
                options.Content = new ByteArrayContent(bytes);
                options.Content.Headers.ContentType = new MediaTypeHeaderValue(IsJson(bytes) ? "application/json" : "text/plain") { CharSet = "utf-8" };
            }

            foreach (var header in context.Get(headers) ?? [])
            {
                var colon = header.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    throw new CliException($"-H '{header}' is not 'Name: value'", ExitCodes.Usage);
                }

                options.Headers[header[..colon].Trim()] = header[(colon + 1)..].Trim();
            }

            // A typed function is called by name with its JSON arguments (POST /api/fn), not at its HTTP route.
            options.Typed = (await context.Client.Functions.GetAsync(context.Get(name), cancellationToken)).Typed is { ValueKind: JsonValueKind.Object };
            if (options.Typed)
            {
                options.Method = HttpMethod.Post;
            }

            var response = await context.Client.SendAsync(context.Get(name), options, cancellationToken);
            if (context.Json)
            {
                context.Terminal.WriteJson(new
                {
                    status = response.Status,
                    headers = response.Headers,
                    body = IsJson(response.Body) ? JsonSerializer.Deserialize<JsonElement>(response.Body) : (object)response.Text,
                });
            }
            else if (response.PlatformErrorCode is null)
            {
                // The function's own answer, whatever its status; Isola's errors get the one line below instead.
                await using var stdout = Console.OpenStandardOutput();
                await stdout.WriteAsync(response.Body, cancellationToken);
                if (response.Body.Length > 0 && response.Body[^1] != '\n' && !Console.IsOutputRedirected)
                {
                    Console.WriteLine();
                }
            }

            if (response.IsSuccess)
            {
                return ExitCodes.Ok;
            }

            Output.Terminal.Error(response.PlatformErrorCode is { } code
                ? $"{code}: {PlatformMessage(response) ?? $"'{context.Get(name)}' answered {response.Status}"}"
                : $"'{context.Get(name)}' answered {response.Status}");
            return ExitCodes.Failed;
        });
    }

    private static (string? Method, string? Body) MethodAndBody(string[] rest) => rest switch
    {
        [] => (null, null),
        [var one] when HttpMethods.Contains(one.ToUpperInvariant()) => (one.ToUpperInvariant(), null),
        [var one] => (null, one),
        [var method, var body] when HttpMethods.Contains(method.ToUpperInvariant()) => (method.ToUpperInvariant(), body),
        [var method, _] => throw new CliException($"'{method}' is not an HTTP method ({string.Join(", ", HttpMethods)})", ExitCodes.Usage),
        _ => throw new CliException("give at most a METHOD and a BODY", ExitCodes.Usage),
    };

    private static async Task<byte[]> ReadBodyAsync(string body, CancellationToken cancellationToken)
    {
        if (body == "-")
        {
            using var buffer = new MemoryStream();
            await using var stdin = Console.OpenStandardInput();
            await stdin.CopyToAsync(buffer, cancellationToken);
            return buffer.ToArray();
        }

        if (body.StartsWith('@'))
        {
            var file = body[1..];
            return File.Exists(file) ? await File.ReadAllBytesAsync(file, cancellationToken) : throw new CliException($"{file} does not exist");
        }

        return Encoding.UTF8.GetBytes(body);
    }

    private static bool IsJson(byte[] bytes)
    {
        if (bytes.Length == 0)
        {
            return false;
        }

        try
        {
            using var _ = JsonDocument.Parse(bytes);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? PlatformMessage(InvocationResponse response)
    {
        try
        {
            using var document = JsonDocument.Parse(response.Body);
            return document.RootElement.GetProperty("error").GetProperty("message").GetString();
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }
}
