-- Invocation records (O1/O2): one row per invocation, written in batches off the request path.

create table isola.invocations (
    id text primary key,
    function_id uuid not null references isola.functions (id) on delete cascade,
    version int not null,
    started_at timestamptz not null,
    duration_ms double precision not null,
    method text not null,
    path text not null,
    status int not null,
    error_code text,
    error_message text,
    error_stack text,
    -- Peak resident memory of the worker process when the invocation ended (VmHWM).
    memory_bytes bigint,
    caller_kind text not null,
    user_id text,
    -- The function's console output, bounded (see InvocationRecorder).
    logs jsonb not null default '[]'
);

create index invocations_by_function on isola.invocations (function_id, started_at desc);
