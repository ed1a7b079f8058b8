using Isola.Host.Apps;
using Microsoft.AspNetCore.Http.Features;

namespace Isola.Host.Gateway;

/// <summary>
/// The three ways to call a function over HTTP, all methods, one engine:
/// <c>/v1/{app}/fn/{name}[/*]</c> (canonical; the function sees the path as called),
/// <c>/functions/run/{id}[/*]</c> (MolnOS, default app) and <c>/functions/v1/{name}[/*]</c>
/// (Supabase, default app; the function sees <c>/{name}/...</c>).
/// </summary>
internal static class GatewayEndpoints
{
    public static void MapGatewayEndpoints(this IEndpointRouteBuilder routes)
    {
        routes.Map("/v1/{app}/fn/{name}/{**subpath}", (string app, string name, HttpContext http, InvocationForwarder forwarder) =>
            forwarder.InvokeAsync(http, FunctionRoute.From(app, name, RawTarget(http), prefixSegments: 4, stripSegments: 0)));
        routes.Map("/functions/run/{id}/{**subpath}", (string id, HttpContext http, InvocationForwarder forwarder) =>
            forwarder.InvokeAsync(http, FunctionRoute.From(AppStore.DefaultApp, id, RawTarget(http), prefixSegments: 3, stripSegments: 0)));
        routes.Map("/functions/v1/{name}/{**subpath}", (string name, HttpContext http, InvocationForwarder forwarder) =>
            forwarder.InvokeAsync(http, FunctionRoute.From(AppStore.DefaultApp, name, RawTarget(http), prefixSegments: 3, stripSegments: 2)));
    }

    /// <summary>The target exactly as the client sent it, so percent-encoding reaches the function unchanged.</summary>
    private static string RawTarget(HttpContext http) =>
        http.Features.Get<IHttpRequestFeature>()?.RawTarget is { Length: > 0 } raw && raw[0] == '/'
            ? raw
            : http.Request.Path + http.Request.QueryString;
}
