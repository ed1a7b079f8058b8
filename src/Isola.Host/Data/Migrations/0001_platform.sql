-- Platform state: apps, API keys, node-wide settings, functions and their immutable versions.

create table isola.settings (
    key text primary key,
    value text not null
);

create table isola.apps (
    id text primary key,
    created_at timestamptz not null default now()
);

insert into isola.apps (id) values ('default');

create table isola.api_keys (
    id uuid primary key,
    name text not null,
    -- SHA-256 of the whole key: keys are 256-bit random, so a slow hash would add nothing.
    key_hash bytea not null unique,
    -- The first characters, shown in listings so a key can be recognised without revealing it.
    key_prefix text not null,
    permissions text[] not null,
    app_id text references isola.apps (id) on delete cascade,
    created_at timestamptz not null default now(),
    expires_at timestamptz
);

-- Bundled artifacts, addressed by the SHA-256 of their bytes, shared by every version that built them.
create table isola.artifacts (
    hash text primary key,
    content bytea not null,
    size int not null,
    created_at timestamptz not null default now()
);

create table isola.functions (
    id uuid primary key,
    app_id text not null references isola.apps (id) on delete cascade,
    name text not null,
    current_version int not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (app_id, name)
);

create table isola.function_versions (
    function_id uuid not null references isola.functions (id) on delete cascade,
    version int not null,
    -- The source exactly as deployed (JSON: {"code": ...} now, {"files": ...} for multi-file deploys).
    source jsonb not null,
    artifact_hash text not null references isola.artifacts (hash),
    -- Everything else of C1 but the env values: triggers, methods, limits, flags, bindings.
    settings jsonb not null,
    -- name -> AES-256-GCM ciphertext (base64); plaintext never reaches the database.
    env jsonb not null default '{}',
    created_at timestamptz not null default now(),
    primary key (function_id, version)
);

create index function_versions_artifact on isola.function_versions (artifact_hash);
