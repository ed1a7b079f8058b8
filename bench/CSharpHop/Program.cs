using CSharpHop;

// Kestrel on the address given by --urls, forwarding every request to the bare Deno on the Unix
// socket given by --upstream. Started by bench/run; see bench/README.md.
var builder = WebApplication.CreateBuilder(args);

// ASP.NET Core logs two Information lines per request by default: that would measure the console.
builder.Logging.ClearProviders();

var socketPath = builder.Configuration["upstream"]
    ?? throw new InvalidOperationException("usage: CSharpHop --urls http://127.0.0.1:PORT --upstream /path/to/deno.sock");
var forwarder = new UnixSocketForwarder(socketPath);

var app = builder.Build();
app.Run(forwarder.ForwardAsync);
app.Run();
