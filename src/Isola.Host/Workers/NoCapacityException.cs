namespace Isola.Host.Workers;

/// <summary>Every worker of a function stayed busy for the whole queue wait (503 NO_CAPACITY).</summary>
internal sealed class NoCapacityException(string message) : Exception(message);
