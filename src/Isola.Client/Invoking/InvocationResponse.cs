namespace Isola.Client;

/// <summary>A function's answer, whatever its status.</summary>
public sealed record InvocationResponse(int Status, string? ContentType, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>The body as UTF-8 text.</summary>
    public string Text => System.Text.Encoding.UTF8.GetString(Body);

    /// <summary>Isola's error code when the platform (not the function) answered with an error.</summary>
    public string? PlatformErrorCode => Headers.TryGetValue("x-isola-error-code", out var code) ? code : null;
}
