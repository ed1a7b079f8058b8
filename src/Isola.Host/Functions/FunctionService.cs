using Isola.Host.Apps;
using Isola.Host.Build;
using Isola.Host.Data.Bindings;
using Isola.Host.Errors;
using Isola.Host.Gateway;
using Isola.Host.Hosting;
using Isola.Host.Observability;
using Isola.Host.Secrets;

namespace Isola.Host.Functions;

/// <summary>
/// Deploy, update and rollback: validate, build, seal secrets, then write everything in one
/// transaction. A build that fails or a name taken meanwhile leaves the registry unchanged.
/// </summary>
internal sealed partial class FunctionService(
    FunctionStore store, AppStore apps, FunctionBuilder builder, TypedDefinitionReader typed, SecretBox secrets, DeployedFunctionCache registry,
    DatabaseBindings databaseBindings, IsolaOptions options, ILogger<FunctionService> logger)
{
    public async Task<FunctionRecord> CreateAsync(string appId, FunctionRequest request, CancellationToken cancellationToken)
    {
        await apps.RequireAsync(appId, cancellationToken);
        var name = request.Name!;
        // Checked before the build only to answer fast; the unique key decides races.
        if (await store.ExistsAsync(appId, name, cancellationToken))
        {
            throw new IsolaException(ErrorKind.Conflict, ErrorCodes.FunctionExists, $"function '{name}' already exists in app '{appId}'; update it with PUT") { Field = "name" };
        }

        await databaseBindings.ValidateAsync(appId, request.Settings.Bindings, cancellationToken);
        var artifact = await builder.BuildAsync(name, request.Source!, cancellationToken);
        var env = request.EnvVars ?? new Dictionary<string, string>();
        var settings = await typed.ApplyAsync(appId, name, request.Source!, artifact, request.Settings, env, cancellationToken);
        var id = Guid.CreateVersion7();
        var sealedEnv = Seal(env, id);
        await store.CreateAsync(id, appId, name, request.Source!, artifact, settings, sealedEnv, cancellationToken);
        await GrantAsync(appId, id, [], request.Settings.Bindings, cancellationToken);
        registry.Invalidate(appId, name); // this node at once; others through the NOTIFY
        LogDeployed(logger, appId, name, 1, artifact.Hash);
        return await store.GetAsync(appId, id.ToString(), includeCode: false, cancellationToken);
    }

    public async Task<FunctionRecord> UpdateAsync(FunctionRecord current, FunctionRequest request, CancellationToken cancellationToken)
    {
        if (request.Name is not null && request.Name != current.Name)
        {
            throw IsolaException.InvalidField("name", $"cannot be changed (is '{current.Name}'); deploy a new function and delete this one instead");
        }

        await databaseBindings.ValidateAsync(current.AppId, request.Settings.Bindings, cancellationToken);
        var artifact = request.Source is null ? null : await builder.BuildAsync(current.Name, request.Source, cancellationToken);
        var settings = request.Settings;
        if (artifact is not null)
        {
            // New code: its definition (if typed) is read again, with the env the new version will have.
            var env = request.EnvVars ?? await CurrentEnvAsync(current, cancellationToken);
            settings = await typed.ApplyAsync(current.AppId, current.Name, request.Source!, artifact, settings, env, cancellationToken);
        }

        var sealedEnv = request.EnvVars is null ? null : Seal(request.EnvVars, current.Id);
        var version = await store.AddVersionAsync(current, request.Source, artifact, settings, sealedEnv, cancellationToken);
        var updated = await store.GetAsync(current.AppId, current.Id.ToString(), includeCode: false, cancellationToken);
        await GrantAsync(current.AppId, current.Id, current.Settings.Bindings, updated.Settings.Bindings, cancellationToken);
        registry.Invalidate(current.AppId, current.Name);
        LogDeployed(logger, current.AppId, current.Name, version, artifact?.Hash ?? current.ArtifactHash);
        return updated;
    }

    /// <summary>
    /// Sets and removes some of the function's env vars, keeping the rest, as a new version (the CLI's
    /// <c>secrets set/unset --function</c>); nothing is stored when nothing would change.
    /// </summary>
    public async Task<FunctionRecord> EditEnvAsync(FunctionRecord current, IReadOnlyDictionary<string, string> set, IReadOnlyCollection<string> remove,
        CancellationToken cancellationToken)
    {
        if (set.Count == 0 && !remove.Any(current.EnvNames.Contains))
        {
            return current;
        }

        var version = await store.AddVersionAsync(current, null, null, current.Settings, null, cancellationToken, new EnvEdit(Seal(set, current.Id), remove));
        registry.Invalidate(current.AppId, current.Name);
        LogDeployed(logger, current.AppId, current.Name, version, current.ArtifactHash);
        return await store.GetAsync(current.AppId, current.Id.ToString(), includeCode: false, cancellationToken);
    }

    /// <summary>Deletes a function with its versions and records; false if it does not exist.</summary>
    public async Task<bool> DeleteAsync(FunctionRecord function, CancellationToken cancellationToken)
    {
        if (!await store.DeleteAsync(function.AppId, function.Id.ToString(), cancellationToken))
        {
            return false;
        }

        registry.Invalidate(function.AppId, function.Name);
        await GrantAsync(function.AppId, function.Id, function.Settings.Bindings, [], cancellationToken); // drops its database login
        return true;
    }

    public async Task<FunctionRecord> RollbackAsync(FunctionRecord current, int version, CancellationToken cancellationToken)
    {
        await store.RollbackAsync(current, version, cancellationToken);
        var rolledBack = await store.GetAsync(current.AppId, current.Id.ToString(), includeCode: false, cancellationToken);
        await GrantAsync(current.AppId, current.Id, current.Settings.Bindings, rolledBack.Settings.Bindings, cancellationToken);
        registry.Invalidate(current.AppId, current.Name);
        LogRolledBack(logger, current.AppId, current.Name, version);
        return rolledBack;
    }

    /// <summary>
    /// Grants follow the version now current. Applied after the version is stored: if this fails (the
    /// database went away), the function's login holds the old grants or none, never more than declared,
    /// and the next deploy re-grants.
    /// </summary>
    private async Task GrantAsync(string appId, Guid functionId, IReadOnlyList<BindingSpec> before, IReadOnlyList<BindingSpec> after, CancellationToken cancellationToken)
    {
        if (!before.Concat(after).Any(b => b.Service == DatabaseBindings.Service))
        {
            return; // most functions: nothing to grant or take back, and no connection opened
        }

        try
        {
            await databaseBindings.ApplyAsync(appId, functionId, after, cancellationToken);
        }
        catch (Npgsql.PostgresException ex)
        {
            throw new IsolaException(ErrorKind.Internal, ErrorCodes.InternalError,
                $"the function was stored, but its database binding could not be granted ({ex.MessageText}); deploy again to retry");
        }
    }

    private async Task<IReadOnlyDictionary<string, string>> CurrentEnvAsync(FunctionRecord current, CancellationToken cancellationToken)
    {
        var deployed = await registry.FindAsync(current.AppId, current.Id.ToString("D"), cancellationToken);
        return deployed is null
            ? new Dictionary<string, string>()
            : deployed.SealedEnv.ToDictionary(pair => pair.Key, pair => secrets.Open(pair.Value, EnvAssociatedData(current.Id, pair.Key)));
    }

    public FunctionRequestParser.Limits Limits => new(options.MaxCodeBytes, options.MaxSourceBytes);

    /// <summary>
    /// Env values are bound to their function and name but not the version, so an update that keeps
    /// the env copies ciphertexts forward without opening them, and a value moved to another row fails to open.
    /// </summary>
    public static string EnvAssociatedData(Guid functionId, string name) => $"env/{functionId}/{name}";

    private Dictionary<string, string> Seal(IReadOnlyDictionary<string, string> env, Guid functionId) =>
        env.ToDictionary(pair => pair.Key, pair => secrets.Seal(pair.Value, EnvAssociatedData(functionId, pair.Key)));

    [LoggerMessage(EventId = LogEvents.FunctionDeployed, Level = LogLevel.Information, Message = "Deployed {App}/{Function} version {Version} ({Artifact})")]
    private static partial void LogDeployed(ILogger logger, string app, string function, int version, string artifact);

    [LoggerMessage(EventId = LogEvents.FunctionRolledBack, Level = LogLevel.Information, Message = "Rolled {App}/{Function} back to version {Version}")]
    private static partial void LogRolledBack(ILogger logger, string app, string function, int version);
}
