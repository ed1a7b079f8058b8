using System.Diagnostics;
using System.Globalization;

namespace Isola.Bench.JwtVerify;

/// <summary>
/// The same benchmarks as bounded Stopwatch loops, each hand-written/library pair timed back to back
/// in every round, so load from other processes on a shared machine hits both alike; reports the
/// median per-token time of each and the median of the per-round ratios.
/// </summary>
internal static class Interleaved
{
    // Enough tokens per sample that one scheduling hiccup on a loaded machine does not decide it.
    private static readonly int TokensPerSample = int.TryParse(Environment.GetEnvironmentVariable("JWT_BENCH_SAMPLE"), out var n) ? n : 2000;

    public static void Run(int rounds)
    {
        var bench = new VerifyBenchmarks();
        bench.Setup();
        var pairs = new (string Name, Action HandWritten, Action Library)[]
        {
            ("HS256", () => bench.HandWrittenHs256(), () => bench.LibraryHs256().GetAwaiter().GetResult()),
            ("RS256", () => bench.HandWrittenRs256(), () => bench.LibraryRs256().GetAwaiter().GetResult()),
            ("ES256", () => bench.HandWrittenEs256(), () => bench.LibraryEs256().GetAwaiter().GetResult()),
            ("HS256 parse only", () => HandWrittenJwt.Parse(bench.Hs256Token), () => Isola.Host.Auth.Jwt.Parse(bench.Hs256Token)),
            ("HS256 check only (parsed once)", () => bench.HandWrittenHs256Check(), () => bench.LibraryHs256Check().GetAwaiter().GetResult()),
        };
        Console.WriteLine($"{rounds} rounds of {TokensPerSample} tokens per verifier, pairs interleaved; µs per token (median)");
        Console.WriteLine("| alg | hand-written | library | library / hand-written |");
        Console.WriteLine("|---|---:|---:|---:|");
        // Warm every path up front and give the JIT's background tier-1 compiles time to land (slow on a
        // loaded machine): otherwise whichever pair is measured first runs partly unoptimised code.
        for (var warm = 0; warm < 3; warm++)
        {
            foreach (var (_, handWritten, library) in pairs)
            {
                Sample(handWritten);
                Sample(library);
            }

            Thread.Sleep(500);
        }

        foreach (var (name, handWritten, library) in pairs)
        {
            var hand = new List<double>();
            var lib = new List<double>();
            var ratios = new List<double>();
            for (var round = 0; round < rounds; round++)
            {
                var h = Sample(handWritten);
                var l = Sample(library);
                hand.Add(h);
                lib.Add(l);
                ratios.Add(l / h);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {name} | {Median(hand):0.0} | {Median(lib):0.0} | {Median(ratios):0.00} |"));
        }

        bench.Cleanup();
    }

    private static double Sample(Action verify)
    {
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < TokensPerSample; i++)
        {
            verify();
        }

        return stopwatch.Elapsed.TotalMicroseconds / TokensPerSample;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
