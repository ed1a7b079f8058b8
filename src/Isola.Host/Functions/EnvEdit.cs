using Isola.Host.Errors;

namespace Isola.Host.Functions;

/// <summary>
/// A change to a version's sealed env that keeps the values it does not name: names removed, then sealed values
/// added or replaced. The values kept are never opened (the CLI's <c>secrets set --function</c> cannot know them).
/// </summary>
internal sealed record EnvEdit(IReadOnlyDictionary<string, string> SealedSet, IReadOnlyCollection<string> Remove)
{
    public Dictionary<string, string> ApplyTo(IReadOnlyDictionary<string, string> sealedEnv)
    {
        var env = new Dictionary<string, string>(sealedEnv, StringComparer.Ordinal);
        foreach (var name in Remove)
        {
            env.Remove(name);
        }

        foreach (var (name, sealedValue) in SealedSet)
        {
            env[name] = sealedValue;
        }

        return env.Count <= FunctionRequestParser.MaxEnvVars
            ? env
            : throw IsolaException.InvalidRequest($"the function would hold {env.Count} env vars; the limit is {FunctionRequestParser.MaxEnvVars}");
    }
}
