using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using System.Text;
using Isola.Host.Functions;
using Isola.Host.Observability;
using Isola.Host.Tests.Docs;
using Isola.Host.Tests.Infrastructure;
using Isola.Host.Tests.Workers;
using Isola.Host.Workers;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace Isola.Host.Tests.Observability;

/// <summary>
/// The node's counters are on the "Isola" meter, read by a <see cref="MeterListener"/> as dotnet-counters
/// or an exporter would read them; docs/running.md lists every instrument.
/// </summary>
public sealed class IsolaMetricsTests
{
    [Fact]
    public async Task A_node_counts_its_worker_starts_loads_slot_requests_and_lookups_on_the_Isola_meter()
    {
        await using var host = await TestHost.StartAsync();
        var metrics = host.Server.Services.GetRequiredService<IsolaMetrics>();
        Assert.Equal("Isola", metrics.Meter.Name);
        Assert.Equal(0, Collect(metrics.Meter)["isola.workers.started"]); // nothing pre-started, nothing called

        await (await host.DeployAsync(new { name = "counted", code = "export default () => new Response('ok');" })).ShouldSucceedAsync(201);
        for (var i = 0; i < 2; i++)
        {
            await (await host.Caller.GetAsync("/v1/default/fn/counted")).EnsureSuccessOrExplainAsync();
        }

        var counts = Collect(metrics.Meter);
        var supervisor = host.Server.Services.GetRequiredService<WorkerSupervisor>();
        Assert.Equal(1, counts["isola.workers.started"]);
        Assert.Equal(1, counts["isola.functions.loaded"]);
        Assert.Equal(2, counts["isola.worker_slots.requested"]);
        Assert.Equal(supervisor.SlotsRequested, counts["isola.worker_slots.requested"]);
        Assert.Equal(host.Server.Services.GetRequiredService<DeployedFunctionCache>().DatabaseLookups, counts["isola.function_lookups"]);
        Assert.InRange(counts["isola.function_lookups"], 1, 2); // the first call; a second if the deploy's notice came after it
        Assert.Equal(0, counts["isola.invocation_records.dropped"]);
    }

    [Fact]
    public async Task Dropped_invocation_records_are_counted_on_the_meter()
    {
        await using var fakes = new FakeWorkers();
        await using var nowhere = NpgsqlDataSource.Create("Host=/nonexistent-isola-socket-dir;Database=none");
        var recorder = new InvocationRecorder(nowhere, TimeProvider.System, new ListLogger<InvocationRecorder>(), capacity: 1);
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new IsolaMetrics(services.GetRequiredService<IMeterFactory>(), fakes.Supervisor, recorder, new DeployedFunctionCache(nowhere));

        for (var i = 0; i < 4; i++)
        {
            recorder.Complete(new InvocationRecord(Guid.NewGuid().ToString("N"), Guid.NewGuid(), 1, DateTimeOffset.UtcNow, 1, "GET", "/", 200,
                null, null, null, null, "public", null));
        }

        using (await fakes.Supervisor.AcquireAsync(fakes.Function("invoke=ok"), CancellationToken.None))
        {
        }

        var counts = Collect(metrics.Meter);
        Assert.Equal(3, counts["isola.invocation_records.dropped"]);
        Assert.Equal(1, counts["isola.workers.started"]);
        Assert.Equal(1, counts["isola.functions.loaded"]);
        Assert.Equal(1, counts["isola.worker_slots.requested"]);
        Assert.Equal(0, counts["isola.function_lookups"]);
    }

    [Fact]
    public async Task The_metrics_table_of_the_docs_lists_every_instrument()
    {
        await using var fakes = new FakeWorkers();
        await using var nowhere = NpgsqlDataSource.Create("Host=/nonexistent-isola-socket-dir;Database=none");
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new IsolaMetrics(services.GetRequiredService<IMeterFactory>(), fakes.Supervisor,
            new InvocationRecorder(nowhere, TimeProvider.System, new ListLogger<InvocationRecorder>()), new DeployedFunctionCache(nowhere));
        var expected = new StringBuilder("| instrument | unit | counts |\n|---|---|---|\n");
        foreach (var instrument in Instruments(metrics.Meter))
        {
            expected.Append(System.Globalization.CultureInfo.InvariantCulture, $"| `{instrument.Name}` | `{instrument.Unit}` | {instrument.Description} |\n");
        }

        await GeneratedSection.AssertIsAsync("docs/running.md", "metrics", expected.ToString());
    }

    /// <summary>The current value of every instrument of <paramref name="meter"/>, as a collection by a listener.</summary>
    private static Dictionary<string, long> Collect(Meter meter)
    {
        var values = new Dictionary<string, long>();
        using var listener = new MeterListener { InstrumentPublished = (instrument, l) => Enable(instrument, l, meter) };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => values[instrument.Name] = value);
        listener.Start();
        listener.RecordObservableInstruments();
        return values;
    }

    private static List<Instrument> Instruments(Meter meter)
    {
        var found = new List<Instrument>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter == meter)
                {
                    found.Add(instrument);
                }
            },
        };
        listener.Start();
        return found;
    }

    private static void Enable(Instrument instrument, MeterListener listener, Meter meter)
    {
        // Only this node's meter: other tests run nodes in the same process at the same time.
        if (instrument.Meter == meter)
        {
            listener.EnableMeasurementEvents(instrument);
        }
    }
}
