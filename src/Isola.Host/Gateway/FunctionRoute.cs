namespace Isola.Host.Gateway;

/// <summary>
/// How a request addressed the function: which prefix the path has, what the function sees as its path,
/// and where the subpath starts. Three shapes (H1, H4, H6, C3) over one invocation path.
/// </summary>
/// <remarks>Paths stay percent-encoded as the client sent them, so the function decodes them exactly once.</remarks>
internal sealed record FunctionRoute(string AppId, string FunctionRef, string FunctionPath, string Subpath)
{
    /// <param name="rawTarget">The request target as the client sent it (still percent-encoded).</param>
    /// <param name="prefixSegments">Segments before the subpath, e.g. 4 for <c>/v1/{app}/fn/{name}</c>.</param>
    /// <param name="stripSegments">Leading segments the function does not see (2 for Supabase's <c>/functions/v1</c>).</param>
    public static FunctionRoute From(string appId, string functionRef, string rawTarget, int prefixSegments, int stripSegments)
    {
        var queryStart = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var path = queryStart < 0 ? rawTarget : rawTarget[..queryStart];
        var query = queryStart < 0 ? "" : rawTarget[queryStart..];
        var subpath = SkipSegments(path, prefixSegments);
        var visible = SkipSegments(path, stripSegments);
        return new FunctionRoute(appId, functionRef, (visible.Length == 0 ? "/" : visible) + query, subpath);
    }

    private static string SkipSegments(string path, int count)
    {
        var index = 0;
        for (var i = 0; i < count; i++)
        {
            var next = path.IndexOf('/', index + 1);
            if (next < 0)
            {
                return "";
            }

            index = next;
        }

        return path[index..];
    }
}
