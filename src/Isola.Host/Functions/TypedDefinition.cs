using System.Text.Json.Nodes;

namespace Isola.Host.Functions;

/// <summary>
/// What a typed function (R1) declares in its module: <c>query</c>, <c>mutation</c> or <c>action</c>, and its
/// arguments' schema as the module describes it. Read once at deploy (Build/TypedDefinitionReader) and stored with
/// the version; its auth mode and <c>internal</c> flag go into <see cref="FunctionSettings"/>.
/// </summary>
internal sealed record TypedDefinition(string Kind, JsonNode? Args)
{
    public const string Query = "query";
    public const string Mutation = "mutation";
    public const string Action = "action";

    public static readonly IReadOnlyList<string> Kinds = [Query, Mutation, Action];
}
