-- Invocations come from more than HTTP: cron, events, scheduled calls, realtime messages.
-- method and path are HTTP's; other triggers leave them null.
alter table isola.invocations add column if not exists trigger text not null default 'http';
alter table isola.invocations alter column method drop not null;
alter table isola.invocations alter column path drop not null;
