-- Typed functions (R4): with strict policies (the default) a typed function's ctx.db acts as its caller under
-- row-level security; an app may turn that off, so its ctx.db acts as service_role (Pylon's old behaviour).
alter table isola.apps add column if not exists strict_policies boolean not null default true;
