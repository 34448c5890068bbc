import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sqlShape } from '@agentgate/sql';
import { PASSWORD_STATEMENT_KINDS, redactSqlText, redactValue, redactValues } from './audit-redaction.js';

const CARD = '4111111111111111';
const EMAIL = 'jane.roe@example.com';
const SSN = '078-05-1120';
const AWS = 'AKIAIOSFODNN7EXAMPLE';

/** The redacted text lexes as the original: same shape key (literal and comment kinds in the same places). */
function assertSameLexing(original: string, redacted: string): void {
  assert.equal(sqlShape(redacted)?.key, sqlShape(original)?.key, `${redacted} lexes as ${original}`);
}

test('string literals: each match becomes its marker, the quotes and the rest of the literal stay', () => {
  const sql = `SELECT '${CARD}' AS c, 'mail ${EMAIL} now' AS e`;
  const r = redactSqlText(sql, ['SelectStmt']);
  assert.equal(r.text, `SELECT '[REDACTED:card]' AS c, 'mail [REDACTED:email] now' AS e`);
  assert.equal(r.masked, true);
  assert.deepEqual(r.detectors, ['card', 'email']);
  assertSameLexing(sql, r.text);
});

test('identifiers and keywords are structure, not data: only literals and comments are searched', () => {
  // A quoted identifier that looks like an e-mail or a key is a name the policy decides on.
  const sql = `SELECT email, "${EMAIL}", "${AWS}" FROM customers WHERE id = 1`;
  const r = redactSqlText(sql, ['SelectStmt']);
  assert.equal(r.text, sql);
  assert.equal(r.masked, false);
});

test("E'' strings keep their prefix and backslash escapes; '' inside a string stays balanced", () => {
  const e = `SELECT E'it\\'s ${EMAIL}\\n'`;
  const re = redactSqlText(e, ['SelectStmt']);
  assert.equal(re.text, `SELECT E'it\\'s [REDACTED:email]\\n'`);
  assertSameLexing(e, re.text);
  const s = `SELECT 'it''s ${EMAIL}', N'${SSN}'`;
  const rs = redactSqlText(s, ['SelectStmt']);
  assert.equal(rs.text, `SELECT 'it''s [REDACTED:email]', N'[REDACTED:us-ssn]'`);
  assertSameLexing(s, rs.text);
});

test('dollar-quoted strings keep their tags', () => {
  const sql = `SELECT $tag$ssn ${SSN}$tag$, $$${AWS}$$`;
  const r = redactSqlText(sql, ['SelectStmt']);
  assert.equal(r.text, 'SELECT $tag$ssn [REDACTED:us-ssn]$tag$, $$[REDACTED:aws-access-key-id]$$');
  assertSameLexing(sql, r.text);
});

test('comments holding secrets are redacted and still end where they ended', () => {
  const sql = `SELECT 1 -- key ${AWS}\n/* mail ${EMAIL} /* nested ${CARD} */ */ FROM t`;
  const r = redactSqlText(sql, ['SelectStmt']);
  assert.equal(r.text, 'SELECT 1 -- key [REDACTED:aws-access-key-id]\n/* mail [REDACTED:email] /* nested [REDACTED:card] */ */ FROM t');
  assertSameLexing(sql, r.text);
});

test('a bare number that is a card becomes 0 with the marker in a comment: still one numeric constant', () => {
  const r = redactSqlText(`SELECT ${CARD}, 42 FROM t WHERE n = ${CARD}+1`, ['SelectStmt']);
  assert.equal(r.text, 'SELECT 0/*[REDACTED:card]*/, 42 FROM t WHERE n = 0/*[REDACTED:card]*/+1');
  assert.deepEqual(r.detectors, ['card']);
  // Same token sequence once comments are set aside: a number where a number was.
  assert.equal(sqlShape(r.text)?.key.replaceAll('\u0000c', ''), sqlShape(`SELECT 1, 42 FROM t WHERE n = 1+1`)?.key);
});

test('a role statement has every string literal redacted as a password, whatever it looks like', () => {
  const alter = redactSqlText(`ALTER ROLE bob WITH PASSWORD 'Hunter2-xyzzy-9' VALID UNTIL '2030-01-01'`, ['AlterRoleStmt']);
  assert.equal(alter.text, `ALTER ROLE bob WITH PASSWORD '[REDACTED:password]' VALID UNTIL '[REDACTED:password]'`);
  assert.deepEqual(alter.detectors, ['password']);
  // psql's \password sends a SCRAM verifier; E'' and dollar quotes are strings too.
  const scram = redactSqlText(`ALTER USER bob PASSWORD E'SCRAM-SHA-256$4096:c2FsdA==$a:b'`, ['AlterRoleStmt']);
  assert.equal(scram.text, `ALTER USER bob PASSWORD '[REDACTED:password]'`);
  const create = redactSqlText(`CREATE ROLE x LOGIN PASSWORD $p$pw$p$ CONNECTION LIMIT 5`, ['CreateRoleStmt']);
  assert.equal(create.text, `CREATE ROLE x LOGIN PASSWORD '[REDACTED:password]' CONNECTION LIMIT 5`);
  const mapping = redactSqlText(`CREATE USER MAPPING FOR bob SERVER s OPTIONS (user 'bob', password 'pw')`, ['CreateUserMappingStmt']);
  assert.equal(mapping.text, `CREATE USER MAPPING FOR bob SERVER s OPTIONS (user '[REDACTED:password]', password '[REDACTED:password]')`);
  for (const k of ['CreateRoleStmt', 'AlterRoleStmt', 'CreateUserMappingStmt', 'AlterUserMappingStmt'])
    assert.ok(PASSWORD_STATEMENT_KINDS.has(k));
  // The same literal in any other statement is data the detectors judge.
  assert.equal(redactSqlText(`SELECT 'Hunter2-xyzzy-9'`, ['SelectStmt']).masked, false);
});

test('text the lexer cannot follow is searched whole; a role statement is cut before its first quote', () => {
  // B'' strings give no shape (sql-shape.ts): the detectors run over the whole text.
  const bits = `SELECT B'101', '${CARD}', "${EMAIL}"`;
  assert.equal(sqlShape(bits), null);
  assert.equal(redactSqlText(bits, ['SelectStmt']).text, `SELECT B'101', '[REDACTED:card]', "[REDACTED:email]"`);
  const role = `ALTER ROLE bob PASSWORD U&'Hunter2\\0021'`;
  assert.equal(sqlShape(role), null);
  const r = redactSqlText(role, ['AlterRoleStmt']);
  assert.equal(r.text, 'ALTER ROLE bob PASSWORD U&[REDACTED:password]');
  assert.equal(r.masked, true);
});

test('nothing to redact: the identical string comes back, with no allocation of a new one', () => {
  for (const sql of [
    'SELECT 1',
    'SELECT * FROM t WHERE id = 1',
    `SELECT 'hello', 42, $$body$$ -- a comment`,
    "SELECT B'101'",
    `INSERT INTO t (email) VALUES ($1)`,
  ]) {
    const r = redactSqlText(sql, ['SelectStmt']);
    assert.equal(r.text, sql);
    assert.equal(r.masked, false);
    assert.deepEqual(r.detectors, []);
  }
  const values = ['a', null, '42'];
  assert.equal(redactValues(values), values, 'the same array');
});

test('a match that would change how a span lexes redacts its whole content instead', () => {
  // The key's match swallows a nested comment's opener: replacing only the match would end the
  // outer comment at the first */ and leave the second one as operators.
  const sql = 'SELECT 1 /* -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC /* x\n-----END PRIVATE KEY----- */ */ FROM t';
  const r = redactSqlText(sql, ['SelectStmt']);
  assert.equal(r.text, 'SELECT 1 /*[REDACTED:pem-private-key]*/ FROM t');
  assertSameLexing(sql, r.text);
});

test('values: parameters, sample cells and error texts; null stays null', () => {
  assert.equal(redactValue(null), null);
  assert.equal(redactValue(SSN), '[REDACTED:us-ssn]');
  assert.equal(redactValue(`key ${AWS} here`), 'key [REDACTED:aws-access-key-id] here');
  assert.equal(
    redactValue(`invalid input syntax for type integer: "${EMAIL}"`),
    'invalid input syntax for type integer: "[REDACTED:email]"',
  );
  const plain = 'nothing here';
  assert.equal(redactValue(plain), plain);
  assert.deepEqual(redactValues([CARD, null, 'ok']), ['[REDACTED:card]', null, 'ok']);
});
