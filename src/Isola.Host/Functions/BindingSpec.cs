namespace Isola.Host.Functions;

/// <summary>
/// A MolnOS service binding: the function's own service account gets exactly these permissions
/// (service-, resource- or action-level). Enforced by the host when the function calls the service.
/// </summary>
internal sealed record BindingSpec(string Service, IReadOnlyList<BindingPermission> Permissions)
{
    /// <summary>Services a binding may name; each needs <c>functions.bindings.create:{service}</c> to deploy.</summary>
    public static readonly IReadOnlyList<string> Services = ["databases", "events", "storage", "functions"];
}

/// <summary>Actions on a resource type, optionally limited to named targets (action-level).</summary>
internal sealed record BindingPermission(string Resource, IReadOnlyList<string> Actions, IReadOnlyList<string>? Targets);
