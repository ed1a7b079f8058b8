using System.CommandLine;
using Isola.Cli.Connection;

namespace Isola.Cli.Commands;

/// <summary><c>isola login --url URL --key KEY [--app APP]</c>: checks the key against the node, then saves the profile (0600).</summary>
internal static class LoginVerb
{
    public static Command Create() => new Command("login", "Save a node's URL and API key for the next commands").WithAction(async (context, cancellationToken) =>
    {
        var url = context.Get(GlobalOptions.Url) ?? throw new CliException("give the node's URL: isola login --url URL --key KEY", ExitCodes.Usage);
        var key = context.Get(GlobalOptions.Key) ?? throw new CliException("give an API key: isola login --url URL --key KEY", ExitCodes.Usage);
        // Proves the URL is a node and the key is known there (401 otherwise) before anything is written.
        await context.Client.Functions.ListAsync(cancellationToken);
        new Profile(context.Target.Url.AbsoluteUri.TrimEnd('/'), key, context.Get(GlobalOptions.App)).Save();
        if (context.Json)
        {
            context.Terminal.WriteJson(new { url = context.Target.Url, app = context.Target.App, profile = Profile.Path });
        }
        else
        {
            context.Terminal.Line($"logged in to {url} (app '{context.Target.App}'); saved in {Profile.Path}");
        }

        return ExitCodes.Ok;
    });
}
