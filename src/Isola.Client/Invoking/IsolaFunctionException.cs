namespace Isola.Client;

/// <summary>The function ran and answered with a status of 400 or more (Supabase's <c>FunctionsHttpError</c>).</summary>
public sealed class IsolaFunctionException : Exception
{
    public IsolaFunctionException(string function, int status, string? contentType, byte[] body)
        : base($"'{function}' answered {status}")
    {
        Function = function;
        Status = status;
        ContentType = contentType;
        Body = body;
    }

    public string Function { get; }

    public int Status { get; }

    public string? ContentType { get; }

    public byte[] Body { get; }

    /// <summary>The body as UTF-8 text.</summary>
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}
