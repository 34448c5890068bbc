-- Privileges inside database demo, after seed-demo.sql. Run as the cluster admin on every
-- start (deploy/local/stack.sh, deploy/docker/postgres-init.sh). Idempotent.
--   agentgate_demo_rw: DML on demo's tables; no CREATE in any schema, no TRUNCATE, owns nothing.
--   agentgate_demo_ro: SELECT only.
-- Only the tables agentgate_demo_owner owns are granted (not, say, the pg_stat_statements view).
\set ON_ERROR_STOP on
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE ALL ON SCHEMA secrets FROM PUBLIC;
GRANT USAGE ON SCHEMA public, secrets TO agentgate_demo_rw, agentgate_demo_ro;
REVOKE CREATE ON SCHEMA public, secrets FROM agentgate_demo_rw, agentgate_demo_ro;
SELECT format('REVOKE ALL ON %s FROM PUBLIC, agentgate_demo_rw, agentgate_demo_ro', c.oid::regclass),
       format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO agentgate_demo_rw', c.oid::regclass),
       format('GRANT SELECT ON %s TO agentgate_demo_ro', c.oid::regclass)
FROM pg_class c
WHERE c.relkind IN ('r', 'p', 'v') AND c.relowner = 'agentgate_demo_owner'::regrole \gexec
SELECT format('GRANT USAGE, SELECT ON SEQUENCE %s TO agentgate_demo_rw', c.oid::regclass)
FROM pg_class c
WHERE c.relkind = 'S' AND c.relowner = 'agentgate_demo_owner'::regrole \gexec
-- Tables the owner creates later get the same.
ALTER DEFAULT PRIVILEGES FOR ROLE agentgate_demo_owner IN SCHEMA public, secrets
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO agentgate_demo_rw;
ALTER DEFAULT PRIVILEGES FOR ROLE agentgate_demo_owner IN SCHEMA public, secrets
  GRANT SELECT ON TABLES TO agentgate_demo_ro;
ALTER DEFAULT PRIVILEGES FOR ROLE agentgate_demo_owner IN SCHEMA public, secrets
  GRANT USAGE, SELECT ON SEQUENCES TO agentgate_demo_rw;
