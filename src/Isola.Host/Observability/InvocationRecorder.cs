using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Isola.Host.Data;
using Isola.Host.Workers;
using Npgsql;
using NpgsqlTypes;

namespace Isola.Host.Observability;

/// <summary>
/// Collects invocation records and the console lines workers attribute to them, and writes them in
/// batches (binary COPY) off the request path. A record waits <see cref="LogGrace"/> after its
/// invocation ends so trailing output is stored with it; later lines (background work) are appended
/// to the stored row. Nothing here grows with the number of invocations served.
/// </summary>
internal sealed partial class InvocationRecorder : BackgroundService, IWorkerOutput
{
    /// <summary>Console lines kept per invocation; the rest is replaced by one truncation line.</summary>
    public const int MaxLinesPerInvocation = 200;

    /// <summary>Longest stored console line, in characters.</summary>
    public const int MaxLineLength = 4096;

    private static readonly TimeSpan LogGrace = TimeSpan.FromMilliseconds(300);
    // Small batches: a COPY of 200 ms of records at 10k requests/s kept PostgreSQL busy on one of two cores for
    // several ms, and the c=1 p99 (budget P2) followed it: 3.3-4.7 ms against 1.8-2.9 with 20 ms batches, for about
    // 1 µs more of PostgreSQL CPU per request (bench/README.md, "CPU per request").
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(20);

    /// <summary>Late lines waiting to be appended; past this, new ones are dropped (and counted) rather than hoarded.</summary>
    private const int MaxLateLines = 10_000;

    /// <summary>Records queued between invocations ending and the writer taking them; past it, new ones are dropped.</summary>
    public const int DefaultCapacity = 50_000;

    /// <summary>
    /// Records kept for another try while the database does not answer (an outage, a restart); past
    /// it the oldest are dropped and counted, so an outage never grows the host without bound.
    /// </summary>
    private const int MaxRetained = 20_000;

    /// <summary>At most one "dropped" warning per this period, however fast records are dropped.</summary>
    private static readonly TimeSpan DropWarningPeriod = TimeSpan.FromSeconds(10);

    private readonly NpgsqlDataSource _dataSource;
    private readonly TimeProvider _time;
    private readonly ILogger<InvocationRecorder> _logger;
    private readonly Channel<(InvocationRecord Record, DateTimeOffset DueAt)> _records;
    private readonly ConcurrentDictionary<string, LogBuffer> _logs = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string Id, LogLine Line)> _lateLines = new();
    private long _dropped;
    private long _lastDropWarningTicks = long.MinValue;
    private bool _outage;

    public InvocationRecorder(NpgsqlDataSource dataSource, TimeProvider time, ILogger<InvocationRecorder> logger)
        : this(dataSource, time, logger, DefaultCapacity)
    {
    }

    internal InvocationRecorder(NpgsqlDataSource dataSource, TimeProvider time, ILogger<InvocationRecorder> logger, int capacity)
    {
        _dataSource = dataSource;
        _time = time;
        _logger = logger;
        // Wait mode with TryWrite: a full channel refuses the write (TryWrite is false), so the drop is
        // seen here and counted. DropWrite would report success while discarding the record.
        _records = Channel.CreateBounded<(InvocationRecord, DateTimeOffset)>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
    }

    /// <summary>Invocation records dropped since the node started: queue full, or not storable during a database outage.</summary>
    public long DroppedRecords => Interlocked.Read(ref _dropped);

    /// <summary>Invocations whose console lines are held in memory (started, not yet stored); for tests and diagnostics.</summary>
    internal int BufferedInvocations => _logs.Count;

    /// <summary>Starts collecting console output for an invocation about to be forwarded.</summary>
    public void Begin(string invocationId) => _logs.TryAdd(invocationId, new LogBuffer());

    /// <summary>Queues a finished invocation; never blocks and never throws.</summary>
    public void Complete(InvocationRecord record)
    {
        if (!_records.Writer.TryWrite((record, _time.GetUtcNow() + LogGrace)))
        {
            Drop(record.Id, 1);
        }
    }

    /// <summary>Counts dropped records, frees their console lines, and warns at most once per <see cref="DropWarningPeriod"/>.</summary>
    private void Drop(string invocationId, int count)
    {
        _logs.TryRemove(invocationId, out _);
        var total = Interlocked.Add(ref _dropped, count);
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastDropWarningTicks);
        if ((last == long.MinValue || _time.GetElapsedTime(last, now) >= DropWarningPeriod) &&
            Interlocked.CompareExchange(ref _lastDropWarningTicks, now, last) == last)
        {
            LogDropped(_logger, total);
        }
    }

    public void OnLog(string workerId, string? invocationId, string level, string message, DateTimeOffset timestamp)
    {
        if (message.Length > MaxLineLength)
        {
            message = message[..MaxLineLength] + "…";
        }

        var line = new LogLine(timestamp, level, message);
        if (invocationId is null)
        {
            LogWorkerOutput(_logger, workerId, level, message);
            return;
        }

        if (_logs.TryGetValue(invocationId, out var buffer))
        {
            buffer.Add(line);
        }
        else if (_lateLines.Count < MaxLateLines)
        {
            // Background work of an invocation already stored: appended to its row (no row, no effect).
            _lateLines.Enqueue((invocationId, line));
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pending = new List<(InvocationRecord Record, DateTimeOffset DueAt)>();
        using var timer = new PeriodicTimer(FlushInterval, _time);
        while (true)
        {
            var stopping = false;
            try
            {
                await timer.WaitForNextTickAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                stopping = true;
            }

            while (_records.Reader.TryRead(out var item))
            {
                pending.Add(item);
            }

            if (pending.Count == 0 && _lateLines.IsEmpty && !stopping)
            {
                continue; // an idle node's tick: nothing to write, nothing allocated
            }

            var now = _time.GetUtcNow();
            var due = stopping ? pending.ToList() : pending.Where(p => p.DueAt <= now).ToList();
            pending.RemoveAll(p => stopping || p.DueAt <= now);
            try
            {
                await WriteAsync(due.Select(p => p.Record).ToList(), CancellationToken.None);
                due.Clear(); // stored: a failure appending late lines below must not store them twice
                await AppendLateLinesAsync(CancellationToken.None);
            }
            catch (Exception ex) when (!stopping && DatabaseOutage.Is(ex))
            {
                // The database is down or restarting: keep the records (with their console lines)
                // for the next tick, up to a bound; calls never wait for this.
                pending.InsertRange(0, due);
                var excess = pending.Count - MaxRetained;
                if (excess > 0)
                {
                    foreach (var (record, _) in pending.Take(excess))
                    {
                        Drop(record.Id, 1);
                    }

                    pending.RemoveRange(0, excess);
                }

                if (!_outage)
                {
                    _outage = true;
                    LogWriteDeferred(_logger, ex.Message);
                }
            }
            catch (Exception ex) when (DatabaseOutage.Is(ex) || ex is InvalidOperationException or IOException)
            {
                LogWriteFailed(_logger, due.Count, ex.Message);
                foreach (var (record, _) in due)
                {
                    Drop(record.Id, 1);
                }
            }

            if (stopping)
            {
                return;
            }
        }
    }

    private async Task WriteAsync(List<InvocationRecord> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0)
        {
            return;
        }

        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        // Straight into the table: no foreign key to check, a function's delete removes its records,
        // and a record that lands just after that delete is never read.
        await using (var copy = await connection.BeginBinaryImportAsync(
            "copy isola.invocations (id, function_id, version, started_at, duration_ms, method, path, status, error_code, error_message, error_stack, memory_bytes, caller_kind, user_id, logs, trigger) from stdin (format binary)",
            cancellationToken))
        {
            foreach (var record in records)
            {
                var lines = _logs.TryRemove(record.Id, out var buffer) ? buffer.Drain() : [];
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(Guid.ParseExact(record.Id, "N"), NpgsqlDbType.Uuid, cancellationToken);
                await copy.WriteAsync(record.FunctionId, NpgsqlDbType.Uuid, cancellationToken);
                await copy.WriteAsync(record.Version, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(record.StartedAt, NpgsqlDbType.TimestampTz, cancellationToken);
                await copy.WriteAsync(record.DurationMs, NpgsqlDbType.Double, cancellationToken);
                await WriteNullable(copy, record.Method, NpgsqlDbType.Text, cancellationToken);
                await WriteNullable(copy, record.Path, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(record.Status, NpgsqlDbType.Integer, cancellationToken);
                await WriteNullable(copy, record.ErrorCode, NpgsqlDbType.Text, cancellationToken);
                await WriteNullable(copy, record.ErrorMessage, NpgsqlDbType.Text, cancellationToken);
                await WriteNullable(copy, record.ErrorStack, NpgsqlDbType.Text, cancellationToken);
                await WriteNullable(copy, record.MemoryBytes, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(record.CallerKind, NpgsqlDbType.Text, cancellationToken);
                await WriteNullable(copy, record.UserId, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(SerializeLines(lines), NpgsqlDbType.Jsonb, cancellationToken);
                await copy.WriteAsync(record.Trigger, NpgsqlDbType.Text, cancellationToken);
            }

            await copy.CompleteAsync(cancellationToken);
        }

        if (_outage)
        {
            _outage = false;
            LogWritesResumed(_logger);
        }
    }

    private async Task AppendLateLinesAsync(CancellationToken cancellationToken)
    {
        if (_lateLines.IsEmpty)
        {
            return;
        }

        var byInvocation = new Dictionary<string, List<LogLine>>(StringComparer.Ordinal);
        while (_lateLines.TryDequeue(out var item))
        {
            if (!byInvocation.TryGetValue(item.Id, out var list))
            {
                byInvocation[item.Id] = list = [];
            }

            list.Add(item.Line);
        }

        await using var batch = _dataSource.CreateBatch();
        foreach (var (id, lines) in byInvocation)
        {
            if (!Guid.TryParseExact(id, "N", out var invocationId))
            {
                continue; // not an id this node handed out
            }

            // Appends stay bounded too: never past the per-invocation line limit.
            batch.BatchCommands.Add(new NpgsqlBatchCommand("""
                update isola.invocations set logs = logs || (
                    select coalesce(jsonb_agg(e), '[]'::jsonb) from jsonb_array_elements($2::jsonb) with ordinality as t(e, n)
                    where n <= greatest(0, $3 - jsonb_array_length(logs)))
                where id = $1
                """)
            {
                Parameters =
                {
                    new NpgsqlParameter { Value = invocationId },
                    new NpgsqlParameter { Value = SerializeLines(lines) },
                    new NpgsqlParameter { Value = MaxLinesPerInvocation },
                },
            });
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string SerializeLines(IReadOnlyList<LogLine> lines) =>
        lines.Count == 0 ? "[]" : JsonSerializer.Serialize(lines.Select(l => new { ts = l.Timestamp, level = l.Level, msg = l.Message }));

    private static async Task WriteNullable<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken cancellationToken)
    {
        if (value is null)
        {
            await copy.WriteNullAsync(cancellationToken);
        }
        else
        {
            await copy.WriteAsync(value, type, cancellationToken);
        }
    }

    /// <summary>Console lines of one invocation, capped at <see cref="MaxLinesPerInvocation"/>.</summary>
    private sealed class LogBuffer
    {
        private readonly List<LogLine> _lines = [];
        private int _dropped;

        public void Add(LogLine line)
        {
            lock (_lines)
            {
                if (_lines.Count < MaxLinesPerInvocation - 1)
                {
                    _lines.Add(line);
                }
                else
                {
                    _dropped++;
                }
            }
        }

        public List<LogLine> Drain()
        {
            lock (_lines)
            {
                var lines = _lines.ToList();
                if (_dropped > 0)
                {
                    lines.Add(new LogLine(DateTimeOffset.UtcNow, "warn", $"[{_dropped} more lines not kept: the limit is {MaxLinesPerInvocation} per invocation]"));
                }

                return lines;
            }
        }
    }

    [LoggerMessage(EventId = LogEvents.InvocationRecordsDropped, Level = LogLevel.Warning, Message = "Invocation records are arriving faster than they can be stored; {Dropped} dropped so far")]
    private static partial void LogDropped(ILogger logger, long dropped);

    [LoggerMessage(EventId = LogEvents.InvocationRecordsDeferred, Level = LogLevel.Warning, Message = "The database does not answer; invocation records are kept in memory (bounded) until it does: {Reason}")]
    private static partial void LogWriteDeferred(ILogger logger, string reason);

    [LoggerMessage(EventId = LogEvents.InvocationRecordsResumed, Level = LogLevel.Information, Message = "Invocation records are being stored again")]
    private static partial void LogWritesResumed(ILogger logger);

    [LoggerMessage(EventId = LogEvents.InvocationRecordsNotStored, Level = LogLevel.Warning, Message = "Could not store {Count} invocation records: {Reason}")]
    private static partial void LogWriteFailed(ILogger logger, int count, string reason);

    [LoggerMessage(EventId = LogEvents.WorkerOutput, Level = LogLevel.Debug, Message = "worker {Worker} [{Level}] {Message}")]
    private static partial void LogWorkerOutput(ILogger logger, string worker, string level, string message);
}
