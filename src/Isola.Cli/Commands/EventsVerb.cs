using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Isola.Cli.Commands;

/// <summary><c>isola events emit NAME [JSON]</c>: publishes an event to every function of the app subscribed to NAME.</summary>
internal static class EventsVerb
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "The event name, e.g. order.created" };
        var data = new Argument<string?>("json") { Description = "The event's data, as JSON", Arity = ArgumentArity.ZeroOrOne };
        var id = new Option<string?>("--id") { Description = "An id: an event published twice with one id is delivered once" };
        var emit = new Command("emit", "Publish an event") { name, data, id };
        emit.WithAction(async (context, cancellationToken) =>
        {
            JsonNode? payload = null;
            if (context.Get(data) is { } text)
            {
                try
                {
                    payload = JsonNode.Parse(text);
                }
                catch (JsonException ex)
                {
                    throw new CliException($"the event data is not valid JSON: {ex.Message}", ExitCodes.Usage);
                }
            }

            var eventId = await context.Client.Events.EmitAsync(context.Get(name), payload, context.Get(id), cancellationToken);
            if (context.Json)
            {
                context.Terminal.WriteJson(new { id = eventId, name = context.Get(name) });
            }
            else
            {
                context.Terminal.Line($"published {context.Get(name)} ({eventId})");
            }

            return ExitCodes.Ok;
        });
        return new Command("events", "Events") { emit };
    }
}
