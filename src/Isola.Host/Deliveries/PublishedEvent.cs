namespace Isola.Host.Deliveries;

/// <summary>An event as its subscribers see it.</summary>
internal sealed record PublishedEvent(string Id, string Name, string DataJson, int Depth, DateTimeOffset PublishedAt);
