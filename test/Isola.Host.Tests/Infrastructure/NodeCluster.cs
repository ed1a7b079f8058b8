using System.Net.Http.Headers;

namespace Isola.Host.Tests.Infrastructure;

/// <summary>
/// Several <c>isola serve</c> processes on one database, as docs/running.md says to run them: the first on
/// its embedded cluster, the others started with its <c>database.url</c> as <c>ISOLA_DATABASE_URL</c> and its
/// <c>master.key</c> as <c>ISOLA_MASTER_KEY</c>, each with a data dir of its own.
/// </summary>
internal sealed class NodeCluster : IAsyncDisposable
{
    private readonly List<ScratchFolder> _dataDirs;
    private readonly List<IsolaProcess> _nodes;

    private NodeCluster(List<ScratchFolder> dataDirs, List<IsolaProcess> nodes, string adminKey, string databaseUrl)
    {
        _dataDirs = dataDirs;
        _nodes = nodes;
        AdminKey = adminKey;
        DatabaseUrl = databaseUrl;
    }

    public IReadOnlyList<IsolaProcess> Nodes => _nodes;

    /// <summary>The first node's data dir, which holds the cluster, <c>database.url</c> and the keys.</summary>
    public string FirstDataDir => _dataDirs[0].Path;

    /// <summary>The first node's admin key (<c>admin.key</c>).</summary>
    public string AdminKey { get; }

    /// <summary>What the first node wrote to <c>database.url</c>.</summary>
    public string DatabaseUrl { get; }

    public static async Task<NodeCluster> StartAsync(int count)
    {
        var dataDirs = new List<ScratchFolder>();
        var nodes = new List<IsolaProcess>();
        try
        {
            dataDirs.Add(TestEnvironment.Scratch("node1"));
            nodes.Add(IsolaProcess.Start(dataDirs[0].Path));
            await nodes[0].WaitReadyAsync();
            var databaseUrl = (await File.ReadAllTextAsync(Path.Combine(dataDirs[0].Path, "database.url"))).Trim();
            var masterKey = (await File.ReadAllTextAsync(Path.Combine(dataDirs[0].Path, "master.key"))).Trim();
            var joining = new Dictionary<string, string> { ["ISOLA_DATABASE_URL"] = databaseUrl, ["ISOLA_MASTER_KEY"] = masterKey };
            for (var i = 2; i <= count; i++)
            {
                dataDirs.Add(TestEnvironment.Scratch($"node{i}"));
                nodes.Add(IsolaProcess.Start(dataDirs[^1].Path, joining));
            }

            await Task.WhenAll(nodes.Skip(1).Select(node => node.WaitReadyAsync()));
            var adminKey = (await File.ReadAllTextAsync(Path.Combine(dataDirs[0].Path, "admin.key"))).Trim();
            return new NodeCluster(dataDirs, nodes, adminKey, databaseUrl);
        }
        catch
        {
            await StopAsync(nodes, dataDirs);
            throw;
        }
    }

    /// <summary>A client of node <paramref name="index"/> (0 is the first) sending the first node's admin key.</summary>
    public HttpClient Admin(int index)
    {
        var client = new HttpClient { BaseAddress = _nodes[index].Url };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminKey);
        return client;
    }

    public async ValueTask DisposeAsync() => await StopAsync(_nodes, _dataDirs);

    // The joining nodes first: the first node's PostgreSQL goes down with it.
    private static async Task StopAsync(List<IsolaProcess> nodes, List<ScratchFolder> dataDirs)
    {
        foreach (var node in Enumerable.Reverse(nodes))
        {
            await node.DisposeAsync();
        }

        foreach (var dataDir in dataDirs)
        {
            dataDir.Dispose();
        }
    }
}
