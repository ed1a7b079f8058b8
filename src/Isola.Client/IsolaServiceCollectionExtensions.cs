using Isola.Client;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers <see cref="IsolaClient"/> as a typed client of IHttpClientFactory.</summary>
public static class IsolaServiceCollectionExtensions
{
    /// <summary>
    /// <c>services.AddIsolaClient(o => { o.BaseUrl = new Uri("http://127.0.0.1:8787"); o.ApiKey = key; })</c>; inject
    /// <see cref="IsolaClient"/> where needed. The returned builder configures the underlying HttpClient (handlers, timeouts).
    /// </summary>
    public static IHttpClientBuilder AddIsolaClient(this IServiceCollection services, Action<IsolaClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var options = new IsolaClientOptions();
        configure(options);
        return services.AddHttpClient(nameof(IsolaClient)).AddTypedClient((http, _) => new IsolaClient(http, options));
    }
}
