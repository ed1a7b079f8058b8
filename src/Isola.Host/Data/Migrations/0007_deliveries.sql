-- Events (T2, T3) and scheduled calls (T5): durable rows that any node delivers, at least once.

-- Per app: how deep a chain of events emitted while handling events may go (null: the default, 8).
alter table isola.apps add column if not exists event_chain_limit int;

create table isola.events (
    app_id text not null references isola.apps (id) on delete cascade,
    -- The publisher's id, or one Isola chose; a second publish with the same id is dropped.
    id text not null,
    name text not null,
    data jsonb not null,
    depth int not null,
    published_at timestamptz not null default now(),
    -- Emitted inside an app transaction that has not committed yet (decision 018); null otherwise.
    held_xid xid8,
    primary key (app_id, id)
);

create index events_published on isola.events (published_at);
create index events_held on isola.events (published_at) where held_xid is not null;

-- One row per (event, subscribed function) or per scheduled call: the unit that is claimed, run,
-- retried and dead-lettered. A delivered row is deleted.
create table isola.deliveries (
    id bigint generated always as identity primary key,
    app_id text not null references isola.apps (id) on delete cascade,
    kind text not null check (kind in ('event', 'scheduled')),
    function_id uuid not null references isola.functions (id) on delete cascade,
    event_id text,
    -- A scheduled call's arguments.
    args jsonb,
    -- held: waiting for its app transaction to commit; ready: due at due_at; running: claimed by
    -- leased_by until due_at (the lease, renewed while it runs); dead: out of attempts.
    state text not null check (state in ('held', 'ready', 'running', 'dead')),
    due_at timestamptz not null,
    -- When it was asked to run: the event's publication, or the scheduled time.
    scheduled_at timestamptz not null,
    attempts int not null default 0,
    max_attempts int not null,
    backoff_ms int not null,
    leased_by text,
    last_error text,
    held_xid xid8,
    created_at timestamptz not null default now(),
    dead_at timestamptz,
    foreign key (app_id, event_id) references isola.events (app_id, id) on delete cascade
);

create index deliveries_due on isola.deliveries (due_at) where state in ('ready', 'running');
create index deliveries_held on isola.deliveries (created_at) where state = 'held';
create index deliveries_dead on isola.deliveries (app_id, dead_at) where state = 'dead';
create index deliveries_event on isola.deliveries (app_id, event_id);
create index deliveries_function on isola.deliveries (function_id);
