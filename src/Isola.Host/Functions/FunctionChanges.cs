namespace Isola.Host.Functions;

/// <summary>
/// The one place that says a function changed (deploy, update, rollback, delete) on any node. Only
/// <see cref="FunctionChangeListener"/> raises it, after dropping the function from the
/// <see cref="DeployedFunctionCache"/>, so a subscriber that looks the function up gets its new version.
/// Subscribers: the worker supervisor (retires old versions' workers) and the triggers that keep per-function state.
/// </summary>
internal sealed class FunctionChanges
{
    /// <summary>A function changed: (app, name).</summary>
    public event Action<string, string>? Changed;

    /// <summary>Any function may have changed (the listener reconnected after missing notifications).</summary>
    public event Action? Reset;

    internal void Notify(string appId, string name) => Changed?.Invoke(appId, name);

    internal void NotifyAll() => Reset?.Invoke();
}
