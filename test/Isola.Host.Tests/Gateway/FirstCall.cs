using System.Net;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Gateway;

/// <summary>
/// Makes the first call of a just-deployed function, which may start a fresh worker (a non-default
/// launch line: allowPrivate, no pre-started worker). A deploy's late change notice could retire the
/// new version's own pool when it arrived after that first call began, answering 503 NO_CAPACITY
/// "replaced by a new version" (the race docs/decisions/011 closed); that one answer is retried.
/// </summary>
internal static class FirstCall
{
    public static async Task WarmAsync(TestHost host, string function)
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var response = await host.Caller.GetAsync($"/v1/default/fn/{function}/warm");
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || !(await response.Content.ReadAsStringAsync()).Contains("NO_CAPACITY", StringComparison.Ordinal))
            {
                return;
            }
        }
    }
}
