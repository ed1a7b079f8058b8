-- Realtime frames go between nodes by NOTIFY, whose payload must stay under 8000 bytes. A larger frame
-- is stored here and the NOTIFY carries its row id. Rows are read within moments by every node's
-- listener and then useless, so the table is unlogged (a crash empties it), and publishers delete
-- rows older than a minute by the database clock.
create unlogged table if not exists isola.realtime_frames (
    id bigint generated always as identity primary key,
    frame text not null,
    created_at timestamptz not null default now()
);
