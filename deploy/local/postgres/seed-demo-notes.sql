-- The free-text notes of public.customers and a customer with well-known test values: data for
-- the masking detectors (docs/policy.md, "Masking"). Idempotent, so deploy/local/stack.sh runs
-- it on every start, and a database seeded before the notes existed catches up without a
-- reseed. Run as the cluster's admin role into database demo (seed-demo.sql includes it).
-- Every value below is a published test value or a throwaway made for this file: the card is
-- Visa's test number, the IBAN the ECBS example, the SSN the Woolworth wallet card's, the AWS
-- key AWS's documentation example, and the RSA key was generated for this file and used nowhere.
\set ON_ERROR_STOP on
SET ROLE agentgate_demo_owner;
SET client_min_messages = warning;  -- quiet "column notes already exists" on every start

ALTER TABLE public.customers ADD COLUMN IF NOT EXISTS notes text;

INSERT INTO public.customers (id, name, email, phone, card_number, ssn, iban, notes)
VALUES (5001, 'Jane Roe', 'jane.roe@example.com', '+1-555-010-4477', '4111111111111111', '078-05-1120',
        'DE89370400440532013000', 'Test customer with well-known values; do not contact.')
ON CONFLICT (id) DO UPDATE SET
  name = EXCLUDED.name, email = EXCLUDED.email, phone = EXCLUDED.phone, card_number = EXCLUDED.card_number,
  ssn = EXCLUDED.ssn, iban = EXCLUDED.iban, notes = EXCLUDED.notes;

-- Most notes are ordinary text or NULL: every 9th customer gets one of these sentences.
UPDATE public.customers c SET notes = s.note
FROM (
  SELECT g AS id,
         (ARRAY['Prefers contact by e-mail.',
                'Asked about delivery times to Canada.',
                'Long-standing customer, pays on time.',
                'Requested a paper invoice for the last order.',
                'Called support about a damaged parcel; resolved.',
                'Interested in the annual plan.'])[1 + (g / 9) % 6] AS note
  FROM generate_series(9, 5000, 9) AS g
) s
WHERE c.id = s.id AND c.notes IS DISTINCT FROM s.note;

-- Ordinary sentences that carry values an agent must not see in clear.
UPDATE public.customers c SET notes = v.note
FROM (VALUES
  (11, 'Customer pasted card 4111 1111 1111 1111 in chat'),
  (22, 'ops pasted key AKIAIOSFODNN7EXAMPLE by mistake'),
  (33, 'ops also pasted aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, rotated since'),
  (44, 'Refund goes to IBAN DE89370400440532013000 as agreed on the phone'),
  (55, 'Identity checked: SSN 078-05-1120 matches the application'),
  (66, 'Wants replies at jane.roe@example.com instead of the address on file'),
  (77, 'Staging import used postgres://importer:Tr0ub4dor-3@db.staging.internal:5432/shop, please rotate'),
  (88, E'Key sent to the wrong ticket by a partner:\n-----BEGIN RSA PRIVATE KEY-----
MIICWwIBAAKBgQDHo2dNIO07KP9JlEedRX2pb/0L4cRqeqPgQEhGyJcRnqZ2/Zic
m2uXuG3Lhl6vcWoaI+v7usYmVkhTdr5c5ZqIR5Ms8l+MxLf5aEdlj5rGeenX88+e
Wsu8prmBzs/Z99uBXiyj84Pf9IgX3yhcViPsbPaoxQq+QNBwWrsId0KVmQIDAQAB
AoGAcptc90s6xWawv5XPUvsMu9Odik+uiY4kO93LYE9RYn0YhWDqVqVmq+/loBxg
iQlr5tvOYnIDxQhtdvTJLd1ly2dCfBzTXX+AsL3yH1+o0Du6wrm1NgrIsrYwOrj8
kfnB2Gff5c41m1zMfrvI3IhlT1uhUdp4F/J3+iVuxMiirAECQQD9YPkHOXuFRr72
MRKed8hZqzqPGCTweY+H1YZzR2iedMYhNjMOQUznfNCR6rhuD9zIicMxxGwPe2zy
anhvTKeBAkEAybQb4G24xZM8GgF+Y6HXDvmmT4x+L2kk9MreHGnyKP1UuAthUdWQ
mv2T5zZbgayKmqSWSt63GOznEIhJ7FM6GQJANUev9gHzZGok+7YD+Uis25YzASYN
lnepY+HVnOYWLMPXaeJwx/2ZQ1Aut5BI6fPx9EVrw0pPgs3scelLm/PdgQJAeqiq
oypWSOAmlnH+GDyc+aBbwNhhDBfWv35237SV7NNRp7JT9l33WCmIvfxSXWM9zpj0
RId3tRKr2WPoAG0EUQJAGUFhnc7fuYEtzgnk9rKVhjEj96pFOqdMVq0cm19V332T
e+tXRhN1ATHQu8dDf24+5FV/B6003xJcBizW+6mi+A==
-----END RSA PRIVATE KEY-----\nplease treat as leaked'),
  (5001, 'Test customer with well-known values; do not contact.')
) AS v(id, note)
WHERE c.id = v.id AND c.notes IS DISTINCT FROM v.note;

-- E-mails are unique, so a duplicate is refused with the value in the error's detail
-- (`Key (email)=(...) already exists.`): the case the gateway masks in error fields.
CREATE UNIQUE INDEX IF NOT EXISTS customers_email_key ON public.customers (email);
