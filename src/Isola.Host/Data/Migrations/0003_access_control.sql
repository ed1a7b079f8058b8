-- Access control: each app's JWT settings. The signing secret is sealed with the master key
-- (AES-256-GCM, associated data "app-jwt/<app>"); a row is created with the app, or on first use.

create table isola.app_auth (
    app_id text primary key references isola.apps (id) on delete cascade,
    jwt_secret text not null,
    -- Tokens issued elsewhere (RS256 / ES256) are verified against this key set when set.
    jwks_url text,
    -- When set, end-user tokens must carry it in "aud".
    audience text,
    rotated_at timestamptz not null default now()
);

-- Caller identity of each invocation (A3): user id for end users, kind for everyone.
create index invocations_by_caller on isola.invocations (function_id, caller_kind);
