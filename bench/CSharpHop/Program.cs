using CSharpHop;
using Npgsql;

// Kestrel on the address given by --urls, forwarding every request to the bare Deno on the Unix
// socket given by --upstream. Started by bench/run; see bench/README.md.
// For budget P6 it also answers two paths itself: /__direct (the hello JSON, no forward) and /__db
// (`select 1` through Npgsql, on a connection string read from --db-conn-file at the first call,
// since the bench learns where Isola's PostgreSQL is only after the hop has started).
// With --headers-file (lines "name: value") it adds those headers to every forwarded request: what
// bench/runtime/run uses to send an Isola worker the envelope the host would (runtime/PROTOCOL.md).
// The host's I/O scheduling (src/Isola.Host/Hosting/InlineIo.cs, decision 032), so that neither side gains from a knob:
// socket completions and Kestrel's continuations inline, unless ISOLA_INLINE_IO=0 (which turns it off in both).
var inline = Environment.GetEnvironmentVariable("ISOLA_INLINE_IO") is not ("0" or "false");
Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", inline ? "1" : "0");

var builder = WebApplication.CreateBuilder(args);
builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = inline);

// ASP.NET Core logs two Information lines per request by default: that would measure the console.
builder.Logging.ClearProviders();

var socketPath = builder.Configuration["upstream"]
    ?? throw new InvalidOperationException("usage: CSharpHop --urls http://127.0.0.1:PORT --upstream /path/to/deno.sock [--db-conn-file FILE] [--headers-file FILE]");
var headersFile = builder.Configuration["headers-file"];
var forwarder = new UnixSocketForwarder(socketPath, headersFile is null ? [] : FixedHeaders.Read(headersFile));
var connectionFile = builder.Configuration["db-conn-file"];
var database = new Lazy<NpgsqlDataSource>(() => NpgsqlDataSource.Create(File.ReadAllText(connectionFile
    ?? throw new InvalidOperationException("/__db needs --db-conn-file")).Trim()));
var hello = "{\"message\":\"Hello!\"}"u8.ToArray();

var app = builder.Build();
app.Run(async context =>
{
    switch (context.Request.Path.Value)
    {
        case "/__direct":
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(hello, context.RequestAborted);
            return;
        case "/__db":
            await using (var command = database.Value.CreateCommand("select 1 as one"))
            {
                var one = (int)(await command.ExecuteScalarAsync(context.RequestAborted))!;
                context.Response.ContentType = "application/json";
                await context.Response.WriteAsync($"{{\"one\":{one}}}", context.RequestAborted);
            }

            return;
        default:
            await forwarder.ForwardAsync(context);
            return;
    }
});
app.Run();
