-- Seeds the `demo` database on the local target PostgreSQL.
-- Run by deploy/local/stack.sh as the cluster's admin role, once, into database `demo`; the
-- objects belong to the NOLOGIN owner role (roles.sql), never to a role the gateway logs in as.
-- grants-demo.sql then gives the login roles what they may do.
-- Data are synthetic but shaped like the real thing (Luhn-valid card numbers, IBANs with
-- valid mod-97 check digits, SSN-like numbers) so masking detectors can be validated on it.
\set ON_ERROR_STOP on
SET ROLE agentgate_demo_owner;
SELECT setseed(0.42);

CREATE SCHEMA IF NOT EXISTS secrets;

CREATE OR REPLACE FUNCTION pg_temp.luhn_complete(digits text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  -- Appends the Luhn check digit to a string of digits.
  SELECT digits || ((10 - (sum(
      CASE WHEN (length(digits) - i) % 2 = 0
           THEN (CASE WHEN d * 2 > 9 THEN d * 2 - 9 ELSE d * 2 END)
           ELSE d END) % 10)) % 10)::text
  FROM (SELECT i, substr(digits, i, 1)::int AS d FROM generate_series(1, length(digits)) AS i) s
$$;

CREATE OR REPLACE FUNCTION pg_temp.de_iban(bban text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  -- DE IBAN: check digits = 98 - (BBAN || 'DE' as 1314 || '00') mod 97.
  SELECT 'DE' || lpad((98 - ((bban || '131400')::numeric % 97))::int::text, 2, '0') || bban
$$;

CREATE TABLE public.customers (
  id          bigint PRIMARY KEY,
  name        text NOT NULL,
  email       text NOT NULL,
  phone       text NOT NULL,
  card_number text NOT NULL,
  ssn         text NOT NULL,
  iban        text NOT NULL,
  notes       text  -- free text; mostly NULL or ordinary, some carry pasted values (seed-demo-notes.sql)
);

CREATE TABLE public.orders (
  id          bigint PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES public.customers(id),
  amount      numeric(12,2) NOT NULL,
  status      text NOT NULL CHECK (status IN ('pending','paid','shipped','refunded','cancelled')),
  created_at  timestamptz NOT NULL
);
CREATE INDEX orders_customer_id_idx ON public.orders(customer_id);

CREATE TABLE secrets.api_keys (
  id      bigint PRIMARY KEY,
  service text NOT NULL,
  key     text NOT NULL
);

WITH first_names(n, i) AS (
  SELECT n, row_number() OVER () - 1 FROM unnest(ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','Ken','Margaret','Dennis','Radia','Leslie','Shafi','Tim','Hedy','John']) AS n
), last_names(n, i) AS (
  SELECT n, row_number() OVER () - 1 FROM unnest(ARRAY['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Allen','Thompson','Hamilton','Ritchie','Perlman','Lamport','Goldwasser','Berners-Lee','Lamarr','Backus']) AS n
)
INSERT INTO public.customers (id, name, email, phone, card_number, ssn, iban)
SELECT g,
       f.n || ' ' || l.n,
       lower(f.n) || '.' || lower(replace(l.n, '-', '')) || g || '@example.com',
       '+1-555-' || lpad((g % 1000)::text, 3, '0') || '-' || lpad(((g * 7919) % 10000)::text, 4, '0'),
       pg_temp.luhn_complete('4' || lpad(((g::bigint * 982451653) % 1000000000000000)::text, 14, '0')),
       lpad((100 + g % 665)::text, 3, '0') || '-' || lpad((10 + g % 89)::text, 2, '0') || '-' || lpad((1000 + (g * 37) % 8999)::text, 4, '0'),
       pg_temp.de_iban(lpad((37040044 + g % 50)::text, 8, '0') || lpad(((g::bigint * 104729) % 10000000000)::text, 10, '0'))
FROM generate_series(1, 5000) AS g
JOIN first_names f ON f.i = g % 16
JOIN last_names l ON l.i = (g / 16) % 16;

INSERT INTO public.orders (id, customer_id, amount, status, created_at)
SELECT g,
       1 + (g * 7) % 5000,
       round((5 + random() * 995)::numeric, 2),
       (ARRAY['pending','paid','shipped','refunded','cancelled'])[1 + (g % 5)],
       timestamptz '2026-01-01 00:00:00+00' + (g || ' minutes')::interval
FROM generate_series(1, 20000) AS g;

INSERT INTO secrets.api_keys (id, service, key)
SELECT g,
       (ARRAY['stripe','github','aws','sendgrid','slack'])[1 + (g % 5)],
       'sk_demo_' || md5('agentgate-demo-key-' || g)
FROM generate_series(1, 50) AS g;

-- Customer 5001 (Jane Roe, well-known test values) and the notes: idempotent, so stack.sh also
-- runs it on every start for databases seeded before it existed.
\ir seed-demo-notes.sql

ANALYZE public.customers, public.orders, secrets.api_keys;
