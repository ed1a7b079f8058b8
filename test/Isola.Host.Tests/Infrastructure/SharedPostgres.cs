using Isola.Host.Data;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Isola.Host.Tests.Infrastructure;

/// <summary>
/// One embedded PostgreSQL cluster for the whole test run, started by the product's own
/// <see cref="EmbeddedPostgres"/> manager; each test host gets a fresh database in it.
/// Stopped when the test process exits.
/// </summary>
internal static class SharedPostgres
{
    private static readonly Lazy<Task<EmbeddedPostgres>> Cluster = new(StartAsync);

    public static async Task<string> CreateDatabaseAsync()
    {
        var cluster = await Cluster.Value;
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        await using (var connection = new NpgsqlConnection(cluster.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {name}", connection);
            await create.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Database = name }.ConnectionString;
    }

    private static async Task<EmbeddedPostgres> StartAsync()
    {
        DeleteAbandonedClusters();
        var dataDir = TestEnvironment.CreateScratch("pg");
        var cluster = await EmbeddedPostgres.StartAsync(dataDir, Environment.GetEnvironmentVariable("ISOLA_PG_BIN"), null, NullLogger.Instance, CancellationToken.None);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
            TestEnvironment.DeleteScratch(dataDir);
        };
        return cluster;
    }

    /// <summary>
    /// A test process killed before its exit handler finished (dotnet test ends the test host without waiting)
    /// leaves its cluster behind, gigabytes each; they would fill the disk over many runs. Clusters whose
    /// postmaster is gone are deleted before a new one starts; one still running (another test run) is kept.
    /// </summary>
    private static void DeleteAbandonedClusters()
    {
        foreach (var dir in Directory.EnumerateDirectories(Path.GetTempPath(), "isola-test-pg-*"))
        {
            var pidFile = Path.Combine(dir, "pg", "postmaster.pid");
            var running = false;
            try
            {
                running = File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), out var pid) && Directory.Exists($"/proc/{pid}");
            }
            catch (IOException)
            {
                running = true; // unreadable: leave it alone
            }
            catch (UnauthorizedAccessException)
            {
                running = true;
            }

            if (!running && Directory.GetLastWriteTimeUtc(dir) < DateTime.UtcNow.AddMinutes(-1))
            {
                TestEnvironment.DeleteScratch(dir);
            }
        }
    }
}
