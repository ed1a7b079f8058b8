using System.Text.Json;

namespace Isola.Host.Workers;

/// <summary>Parses one stdout line of a worker: a JSON log record, or plain text from outside the runtime.</summary>
internal static class WorkerLogLine
{
    public static void Dispatch(string line, string workerId, IWorkerOutput output)
    {
        if (line.Length > 0 && line[0] == '{')
        {
            try
            {
                using var document = JsonDocument.Parse(line);
                var root = document.RootElement;
                if (root.TryGetProperty(WorkerProtocol.LogKindKey, out var type) && type.GetString() == WorkerProtocol.LogKind)
                {
                    var invocation = root.TryGetProperty(WorkerProtocol.LogInvocationKey, out var inv) && inv.ValueKind == JsonValueKind.String ? inv.GetString() : null;
                    var level = root.TryGetProperty(WorkerProtocol.LogLevelKey, out var lv) ? lv.GetString() ?? "info" : "info";
                    var message = root.TryGetProperty(WorkerProtocol.LogMessageKey, out var msg) ? msg.GetString() ?? "" : "";
                    var timestamp = root.TryGetProperty(WorkerProtocol.LogTimestampKey, out var ts) && ts.TryGetInt64(out var ms)
                        ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
                        : DateTimeOffset.UtcNow;
                    output.OnLog(workerId, invocation, level, message, timestamp);
                    return;
                }
            }
            catch (JsonException)
            {
                // Not ours: fall through and keep it as text.
            }
        }

        output.OnLog(workerId, null, "info", line, DateTimeOffset.UtcNow);
    }
}
