using System.Text.Json.Nodes;

namespace Isola.Host.Functions;

/// <summary>
/// What a typed function (R1) declares in its module: <c>query</c>, <c>mutation</c> or <c>action</c>, its
/// arguments' schema and its <c>returns</c> schema (null when it declares none) as the module describes them. Read
/// once at deploy (Build/TypedDefinitionReader) and stored with the version; its auth mode and <c>internal</c> flag go
/// into <see cref="FunctionSettings"/>. GET /v1/{app}/functions shows it, and <c>isola types generate</c> reads the
/// schemas from there (decision 026).
/// </summary>
internal sealed record TypedDefinition(string Kind, JsonNode? Args, JsonNode? Returns = null)
{
    public const string Query = "query";
    public const string Mutation = "mutation";
    public const string Action = "action";

    public static readonly IReadOnlyList<string> Kinds = [Query, Mutation, Action];
}
