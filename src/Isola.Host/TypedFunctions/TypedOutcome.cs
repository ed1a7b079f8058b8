using System.Text.Json;
using Isola.Host.Errors;
using Isola.Host.Functions;
using Isola.Host.Invocations;

namespace Isola.Host.TypedFunctions;

/// <summary>
/// How a typed call ended, sorted into the three answers of runtime/PROTOCOL.md ("Typed functions"): a value
/// (200, its JSON), the function's own error thrown with <c>ctx.error</c> (400, <c>{"error": {"code", "message"}}</c>,
/// no <c>x-isola-error</c>), or a platform error with a code (INVALID_ARGS, POLICY_DENIED, FUNCTION_ERROR, timeouts…).
/// </summary>
internal sealed record TypedOutcome(DeployedFunction Function, InvocationOutcome Invocation)
{
    public string InvocationId => Invocation.InvocationId;

    /// <summary>The handler returned: <see cref="Body"/> is its value as JSON.</summary>
    public bool IsValue => Invocation.ErrorCode is null && Invocation.Status == 200;

    /// <summary>The handler threw <c>ctx.error(code, message)</c>: <see cref="Body"/> is <c>{"error": {"code", "message"}}</c>.</summary>
    public bool IsFunctionError => Invocation.ErrorCode is null && Invocation.Status == 400;

    public byte[] Body => Invocation.Body;

    public int Status => IsValue || IsFunctionError ? Invocation.Status : Invocation.ErrorCode is null ? 500 : Invocation.Status;

    /// <summary>The function's own error code and message (when <see cref="IsFunctionError"/>).</summary>
    public (string Code, string Message) FunctionError()
    {
        try
        {
            using var document = JsonDocument.Parse(Body);
            var error = document.RootElement.GetProperty("error");
            return (error.GetProperty("code").GetString() ?? "", error.GetProperty("message").GetString() ?? "");
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return (ErrorCodes.FunctionError, "the function's error could not be read");
        }
    }

    /// <summary>A platform error's code and a message fit for the caller (an uncaught exception's text stays in the log).</summary>
    public (string Code, string Message) PlatformError() => Invocation.ErrorCode switch
    {
        ErrorCodes.FunctionError => (ErrorCodes.FunctionError,
            $"'{Function.Name}' failed with an uncaught exception; its message and stack are in the invocation log ({InvocationId})"),
        null => (ErrorCodes.FunctionStatus, $"'{Function.Name}' answered {Invocation.Status}"),
        var code => (code, Invocation.ErrorMessage ?? code),
    };
}
