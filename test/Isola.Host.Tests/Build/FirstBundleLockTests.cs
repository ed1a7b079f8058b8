using Isola.Host.Build;
using Isola.Host.Tests.Infrastructure;

namespace Isola.Host.Tests.Build;

/// <summary>
/// A node's first bundles wait for the lock file in the Deno cache, so nodes sharing one cache never run first bundles
/// at once (two did, and one failed "copying esbuild binary" while the cache was empty).
/// </summary>
public sealed class FirstBundleLockTests
{
    [Fact]
    public async Task A_fresh_nodes_first_deploy_waits_while_another_holds_the_caches_first_bundle_lock()
    {
        await using var host = await TestHost.StartAsync();
        var lockPath = Path.Combine(host.Options.DenoCacheDir!, FunctionBuilder.FirstBundleLock);
        Task<HttpResponseMessage> deploy;
        // FileShare.None is flock(LOCK_EX): what another node's first bundle holds.
        using (new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            deploy = host.DeployAsync(new { name = "waits", code = "export default () => new Response('built');" });
            // A bundle takes well under this on an idle machine; the deploy is still waiting for the lock.
            await Task.WhenAny(deploy, Task.Delay(TimeSpan.FromSeconds(2)));
            Assert.False(deploy.IsCompleted, "the first deploy did not wait for the lock");
        }

        await (await deploy).ShouldSucceedAsync(201);
    }
}
