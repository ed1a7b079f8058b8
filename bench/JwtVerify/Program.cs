using BenchmarkDotNet.Running;
using Isola.Bench.JwtVerify;

// BenchmarkDotNet:   dotnet run -c Release --project bench/JwtVerify -- --filter '*'
// Interleaved pairs: dotnet run -c Release --project bench/JwtVerify -- --interleaved [rounds]
if (args.Length > 0 && args[0] == "--interleaved")
{
    Interleaved.Run(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 15);
}
else
{
    BenchmarkSwitcher.FromAssembly(typeof(VerifyBenchmarks).Assembly).Run(args);
}
