using System.CommandLine;

namespace Isola.Cli.Commands;

/// <summary>
/// Every verb of the CLI, in the order help lists them. A new verb (dev, types generate) is one class with a
/// <c>Create()</c> that returns its <see cref="Command"/>, added here.
/// </summary>
internal static class Verbs
{
    public static RootCommand Root()
    {
        var root = new RootCommand("isola: deploy, call and watch functions on an Isola node (docs/cli.md)") { HelpName = "isola" };
        GlobalOptions.AddTo(root);
        Command[] verbs =
        [
            ServeVerb.Create(),
            DevVerb.Create(),
            NewVerb.Create(),
            DeployVerb.Create(),
            FunctionVerbs.List(),
            FunctionVerbs.Get(),
            FunctionVerbs.Config(),
            UpdateVerb.Create(),
            FunctionVerbs.Delete(),
            InvokeVerb.Create(),
            LogsVerb.Create(),
            FunctionVerbs.Stats(),
            FunctionVerbs.Versions(),
            FunctionVerbs.Rollback(),
            SecretsVerb.Create(),
            EventsVerb.Create(),
            DbVerb.Create(),
            TypesVerb.Create(),
            LoginVerb.Create(),
        ];
        foreach (var verb in verbs)
        {
            root.Add(verb);
        }

        return root;
    }
}
