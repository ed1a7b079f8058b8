namespace Isola.Host.Hosting;

/// <summary>A start-up failure with a message meant for the person running <c>isola serve</c>, printed without a stack.</summary>
internal sealed class StartupException(string message, Exception? inner = null) : Exception(message, inner);
