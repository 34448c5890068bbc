-- The target's roles and databases: one login role per connection and privilege level, objects
-- owned by NOLOGIN owner roles. Run as the cluster admin (agentgate_admin) in database
-- `postgres` on every start, by deploy/local/stack.sh and deploy/docker/postgres-init.sh, with
-- the passwords in psql's environment (not its argv): AG_TARGET_DEMO_RW_PASSWORD,
-- AG_TARGET_DEMO_RO_PASSWORD, AG_TARGET_SCRATCH_PASSWORD. Idempotent.
--
--   agentgate_demo_owner     NOLOGIN  owns database demo and its objects
--   agentgate_demo_rw        LOGIN    demo: SELECT/INSERT/UPDATE/DELETE, TEMP; no CREATE, owns nothing
--   agentgate_demo_ro        LOGIN    demo: SELECT only
--   agentgate_scratch_owner  NOLOGIN  owns database scratch
--   agentgate_scratch        LOGIN    scratch: may create objects (and owns what it creates)
--
-- No login role is a member of another role, nor of pg_read_all_stats or pg_signal_backend:
-- so pg_stat_activity hides the query text of other roles' sessions, and pg_terminate_backend
-- of another role's backend fails with 42501.
\set ON_ERROR_STOP on
\getenv demo_rw_pw AG_TARGET_DEMO_RW_PASSWORD
\getenv demo_ro_pw AG_TARGET_DEMO_RO_PASSWORD
\getenv scratch_pw AG_TARGET_SCRATCH_PASSWORD

-- Migration from the first layout, where every connection logged in as agentgate_gateway, the
-- owner of both databases: those databases are dropped and seeded again (demo's data are
-- synthetic and scratch is scratch), and the role goes.
SELECT format('DROP DATABASE %I WITH (FORCE)', d.datname)
FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba
WHERE (d.datname, r.rolname) IN (('demo', 'agentgate_gateway'), ('scratch', 'agentgate_gateway')) \gexec
SELECT 'REASSIGN OWNED BY agentgate_gateway TO agentgate_admin', 'DROP OWNED BY agentgate_gateway', 'DROP ROLE agentgate_gateway'
WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'agentgate_gateway') \gexec

SELECT format('CREATE ROLE %I NOLOGIN', r)
FROM unnest(ARRAY['agentgate_demo_owner', 'agentgate_scratch_owner', 'agentgate_demo_rw', 'agentgate_demo_ro', 'agentgate_scratch']) AS r
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) \gexec

-- Attributes are set on every run, so a role changed by hand is put back.
ALTER ROLE agentgate_demo_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD NULL;
ALTER ROLE agentgate_scratch_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD NULL;
ALTER ROLE agentgate_demo_rw LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
ALTER ROLE agentgate_demo_ro LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
ALTER ROLE agentgate_scratch LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT;
SELECT format('ALTER ROLE agentgate_demo_rw PASSWORD %L', :'demo_rw_pw') \gexec
SELECT format('ALTER ROLE agentgate_demo_ro PASSWORD %L', :'demo_ro_pw') \gexec
SELECT format('ALTER ROLE agentgate_scratch PASSWORD %L', :'scratch_pw') \gexec

-- No memberships, in either direction, for any of them.
SELECT format('REVOKE %I FROM %I CASCADE', g.rolname, m.rolname)
FROM pg_auth_members am
JOIN pg_roles g ON g.oid = am.roleid
JOIN pg_roles m ON m.oid = am.member
WHERE m.rolname IN ('agentgate_demo_owner', 'agentgate_scratch_owner', 'agentgate_demo_rw', 'agentgate_demo_ro', 'agentgate_scratch')
   OR (g.rolname IN ('agentgate_demo_owner', 'agentgate_scratch_owner', 'agentgate_demo_rw', 'agentgate_demo_ro', 'agentgate_scratch')
       AND m.rolname <> 'agentgate_admin') \gexec

SELECT 'CREATE DATABASE demo OWNER agentgate_demo_owner'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'demo') \gexec
SELECT 'CREATE DATABASE scratch OWNER agentgate_scratch_owner'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'scratch') \gexec
ALTER DATABASE demo OWNER TO agentgate_demo_owner;
ALTER DATABASE scratch OWNER TO agentgate_scratch_owner;

-- CONNECT (and TEMP) per role, not to PUBLIC.
REVOKE ALL ON DATABASE demo, scratch FROM PUBLIC;
REVOKE ALL ON DATABASE demo FROM agentgate_demo_rw, agentgate_demo_ro, agentgate_scratch;
REVOKE ALL ON DATABASE scratch FROM agentgate_demo_rw, agentgate_demo_ro, agentgate_scratch;
GRANT CONNECT, TEMPORARY ON DATABASE demo TO agentgate_demo_rw;
GRANT CONNECT ON DATABASE demo TO agentgate_demo_ro;
GRANT CONNECT, TEMPORARY, CREATE ON DATABASE scratch TO agentgate_scratch;
-- The cluster's own maintenance database is not for the gateway's roles either.
REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC;
