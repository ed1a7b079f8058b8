using System.Text.Json;

namespace Isola.Host.Tests.Infrastructure;

/// <summary>Polls the invocation log (written in batches, off the request path) until a record satisfies a condition.</summary>
internal static class InvocationLogs
{
    public static async Task<JsonElement> WaitForAsync(TestHost host, string function, string invocationId, Func<JsonElement, bool> condition,
        TimeSpan? timeout = null, string app = "default")
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        JsonElement? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var page = await (await host.Client.GetAsync($"/v1/{app}/functions/{function}/logs?limit=100")).ShouldSucceedAsync();
            foreach (var invocation in page.GetProperty("invocations").EnumerateArray())
            {
                if (invocation.GetProperty("id").GetString() == invocationId)
                {
                    last = invocation;
                    if (condition(invocation))
                    {
                        return invocation;
                    }
                }
            }

            await Task.Delay(100);
        }

        throw new Xunit.Sdk.XunitException($"invocation {invocationId} of {function} never matched; last seen: {last?.ToString() ?? "not recorded"}");
    }
}
