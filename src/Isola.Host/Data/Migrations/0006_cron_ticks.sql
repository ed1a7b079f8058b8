-- Cron ticks (T1): one row per (function, cron trigger, tick). Every node that is up tries to insert
-- the row when the tick is due (INSERT ... ON CONFLICT DO NOTHING); the one whose insert lands runs
-- it, so a tick runs once however many nodes share the database. The row then says how it went.
-- Rows are kept for an hour (the GET of a function shows the latest), then deleted.
create table isola.cron_ticks (
    function_id uuid not null references isola.functions (id) on delete cascade,
    -- The trigger, as deployed: its expression and IANA time zone ('UTC' when none was given).
    schedule text not null,
    timezone text not null,
    scheduled_at timestamptz not null,
    version int not null,
    -- The node that claimed the tick (Hosting/NodeIdentity).
    node text not null,
    -- running, succeeded, failed, or skipped (the previous run of this trigger was still going).
    status text not null,
    invocation_id uuid,
    claimed_at timestamptz not null default clock_timestamp(),
    -- A running row counts as running until then, so a node that died mid-run holds its cron no longer
    -- than the function's timeout plus a margin.
    lease_until timestamptz not null,
    finished_at timestamptz,
    detail text,
    primary key (function_id, schedule, timezone, scheduled_at)
);

-- "Is the previous run still going?" is asked at every tick.
create index cron_ticks_running on isola.cron_ticks (function_id, schedule, timezone) where status = 'running';
-- The clean-up deletes by age.
create index cron_ticks_by_time on isola.cron_ticks (scheduled_at);
