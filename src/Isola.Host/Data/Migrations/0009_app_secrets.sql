-- App-wide secrets (C5): sealed like function env vars, visible to every function of the app.
create table isola.app_secrets (
    app_id text primary key references isola.apps (id) on delete cascade,
    -- name -> AES-256-GCM ciphertext (base64), bound to "secret/<app>/<NAME>"; plaintext never reaches the database.
    env jsonb not null default '{}',
    -- Bumped by every change. Worker pools are keyed by it, so a change replaces the app's running workers.
    version bigint not null default 0,
    updated_at timestamptz not null default now()
);
