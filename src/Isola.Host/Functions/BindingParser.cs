using System.Text.Json;
using Isola.Host.Errors;
using static Isola.Host.Validation.JsonFields;

namespace Isola.Host.Functions;

/// <summary>The <c>bindings</c> of a deploy (docs/data.md, "Bindings").</summary>
internal static class BindingParser
{
    /// <summary>MolnOS service bindings: which service, and which grants on which resources.</summary>
    public static List<BindingSpec> Parse(JsonElement value)
    {
        var items = RequireArray(value, "bindings");
        var bindings = new List<BindingSpec>();
        for (var i = 0; i < items.Count; i++)
        {
            var field = $"bindings[{i}]";
            var item = items[i];
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw IsolaException.InvalidField(field, $"must be an object like {{\"service\": \"databases\", \"permissions\": [...]}}, not {Describe(item)}");
            }

            string? service = null;
            List<BindingPermission>? permissions = null;
            foreach (var property in item.EnumerateObject())
            {
                switch (property.Name)
                {
                    case "service":
                        service = RequireString(property.Value, $"{field}.service");
                        if (!BindingSpec.Services.Contains(service))
                        {
                            throw IsolaException.InvalidField($"{field}.service", $"must be one of {string.Join(", ", BindingSpec.Services)} (got '{Truncate(service)}')");
                        }

                        break;
                    case "permissions":
                        permissions = ParsePermissions(property.Value, $"{field}.permissions");
                        break;
                    default:
                        throw IsolaException.InvalidField($"{field}.{property.Name}", "is not a known binding field (service, permissions)");
                }
            }

            if (service is null)
            {
                throw IsolaException.InvalidField($"{field}.service", "is required");
            }

            // No permissions list means service-level access (MolnOS's coarsest granularity).
            bindings.Add(new BindingSpec(service, permissions ?? []));
        }

        return bindings;
    }

    private static List<BindingPermission> ParsePermissions(JsonElement value, string field)
    {
        var items = RequireArray(value, field);
        var permissions = new List<BindingPermission>();
        for (var i = 0; i < items.Count; i++)
        {
            var path = $"{field}[{i}]";
            if (items[i].ValueKind != JsonValueKind.Object)
            {
                throw IsolaException.InvalidField(path, $"must be an object with resource, actions and optional targets, not {Describe(items[i])}");
            }

            string? resource = null;
            List<string>? actions = null, targets = null;
            foreach (var property in items[i].EnumerateObject())
            {
                switch (property.Name)
                {
                    case "resource":
                        resource = RequireString(property.Value, $"{path}.resource");
                        RequireToken(resource, $"{path}.resource");
                        break;
                    case "actions":
                        actions = RequireStringList(property.Value, $"{path}.actions");
                        foreach (var (action, index) in actions.Select((a, n) => (a, n)))
                        {
                            if (action is not ("read" or "write" or "delete" or "admin" or "publish" or "subscribe" or "*"))
                            {
                                throw IsolaException.InvalidField($"{path}.actions[{index}]", $"must be one of read, write, delete, admin, publish, subscribe, * (got '{Truncate(action)}')");
                            }
                        }

                        break;
                    case "targets":
                        targets = RequireStringList(property.Value, $"{path}.targets");
                        break;
                    default:
                        throw IsolaException.InvalidField($"{path}.{property.Name}", "is not a known permission field (resource, actions, targets)");
                }
            }

            if (resource is null)
            {
                throw IsolaException.InvalidField($"{path}.resource", "is required");
            }

            if (actions is null || actions.Count == 0)
            {
                throw IsolaException.InvalidField($"{path}.actions", "must list at least one action");
            }

            permissions.Add(new BindingPermission(resource, actions, targets));
        }

        return permissions;
    }
}
