namespace Isola.Host.Tests.TypedFunctions;

/// <summary>The typed-function test classes share one node (<see cref="TypedFixture"/>): its deploys are the slow part.</summary>
[CollectionDefinition(Name)]
public sealed class TypedCollection : ICollectionFixture<TypedFixture>
{
    public const string Name = "typed functions";
}
