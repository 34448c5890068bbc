-- Privileges inside database scratch. Run as the cluster admin on every start. Idempotent.
--   agentgate_scratch: may create objects in schema public (and owns what it creates).
\set ON_ERROR_STOP on
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO agentgate_scratch;
