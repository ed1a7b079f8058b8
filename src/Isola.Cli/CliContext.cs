using System.CommandLine;
using Isola.Cli.Connection;
using Isola.Cli.Output;
using Isola.Client;

namespace Isola.Cli;

/// <summary>What a verb's action works with: the parsed command line, the terminal, and a client for the resolved node.</summary>
internal sealed class CliContext(ParseResult parse) : IDisposable
{
    private IsolaClient? _client;

    public ParseResult Parse { get; } = parse;

    public Terminal Terminal { get; } = new(parse.GetValue(GlobalOptions.Json));

    public bool Json => Terminal.Json;

    public Target Target
    {
        get => field ??= Target.Resolve(Parse.GetValue(GlobalOptions.Url), Parse.GetValue(GlobalOptions.Key), Parse.GetValue(GlobalOptions.App),
            Directory.GetCurrentDirectory());
        private set;
    }

    /// <summary>Points the verb at another node (the one <c>isola dev</c> started); the client is made anew for it.</summary>
    public void Connect(Target target)
    {
        _client?.Dispose();
        _client = null;
        Target = target;
    }

    /// <summary>The one client every verb uses (the same Isola.Client a .NET program would).</summary>
    public IsolaClient Client => _client ??= IsolaClient.Create(Target.Url, Target.Key, Target.App);

    public T Get<T>(Option<T> option) => Parse.GetValue(option)!;

    public T Get<T>(Argument<T> argument) => Parse.GetValue(argument)!;

    public void Dispose() => _client?.Dispose();
}
