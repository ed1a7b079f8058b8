using System.Text.Encodings.Web;
using System.Text.Json;

namespace Isola.Host.Api;

/// <summary>Writes the platform's error contract: JSON body, <c>x-isola-error-code</c> and <c>x-relay-error</c>.</summary>
internal static class ErrorResponse
{
    public static async Task WriteAsync(HttpContext context, int status, string code, string message,
        IReadOnlyDictionary<string, string>? headers = null, string? field = null,
        System.Text.Json.Nodes.JsonObject? extra = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.Headers["x-isola-error-code"] = code;
        // Supabase clients classify platform errors (as opposed to a function's own) by this header.
        response.Headers["x-relay-error"] = "true";
        if (headers is not null)
        {
            foreach (var (name, value) in headers)
            {
                response.Headers[name] = value;
            }
        }

        await using var writer = new Utf8JsonWriter(response.Body, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("code", code);
        writer.WriteString("message", message);
        if (field is not null)
        {
            writer.WriteString("field", field);
        }

        if (extra is not null)
        {
            foreach (var (name, value) in extra)
            {
                writer.WritePropertyName(name);
                if (value is null)
                {
                    writer.WriteNullValue();
                }
                else
                {
                    value.WriteTo(writer);
                }
            }
        }

        writer.WriteString("invocationId", context.TraceIdentifier);
        writer.WriteEndObject();
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }
}
