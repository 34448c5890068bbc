import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { Command, CommanderError } from 'commander';
import { keyIdOf, publicKeyBase64 } from '@agentgate/audit-verify';
import type { AuditReader } from './backends.js';
import type { CliConfig } from './config.js';
import { parseInstant, parseVerification, registerReport, sensitiveColumns, type ReportCommandContext } from './report-commands.js';

const NOW = Date.UTC(2026, 10, 2, 12, 0, 0);
const { publicKey } = generateKeyPairSync('ed25519');
const KEYS_FILE = '/stack/run/checkpoint-keys.json';
const KEYS = JSON.stringify({ keys: [{ keyId: keyIdOf(publicKey), publicKey: publicKeyBase64(publicKey) }] });

interface Harness {
  out: string[];
  err: string[];
  queries: string[];
  written: { path: string; data: string | Buffer }[];
  pdfInputs: string[];
  exit: number | undefined;
}

async function runReport(args: string[], extraFiles: Record<string, string> = {}): Promise<Harness> {
  const files: Record<string, string> = { [KEYS_FILE]: KEYS, ...extraFiles };
  const h: Harness = { out: [], err: [], queries: [], written: [], pdfInputs: [], exit: undefined };
  const reader: AuditReader = {
    async rows<T>(query: string): Promise<T[]> {
      h.queries.push(query);
      return (query.includes('AS total') ? [{ total: '4' }] : []) as T[];
    },
    close: async () => {},
  };
  const ctx: ReportCommandContext = {
    io: { out: (s) => h.out.push(s), err: (s) => h.err.push(s) },
    configOf: () => ({ clickhouseDatabase: 'agentgate', checkpointKeysFile: KEYS_FILE }) as CliConfig,
    withAudit: (run) => run(reader),
    setExit: (code) => {
      h.exit = code;
    },
    now: () => NOW,
    writeOut: async (path, data) => {
      h.written.push({ path, data });
    },
    toPdf: async (html) => {
      h.pdfInputs.push(html);
      return Buffer.from('%PDF-1.4 fake');
    },
    readVerification: async (path) => {
      const text = files[path];
      if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return text;
    },
  };
  const program = new Command('agentgate').exitOverride().configureOutput({ writeOut: () => {}, writeErr: (s) => h.err.push(s) });
  registerReport(program, ctx);
  try {
    await program.parseAsync(['report', ...args], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    h.exit = 2;
  }
  return h;
}

test('relative and absolute times are read against the injected clock', () => {
  assert.equal(parseInstant('now', NOW, '--until'), NOW);
  assert.equal(parseInstant('24h', NOW, '--since'), NOW - 86_400_000);
  assert.equal(parseInstant('7d', NOW, '--since'), NOW - 7 * 86_400_000);
  assert.equal(parseInstant('90m', NOW, '--since'), NOW - 90 * 60_000);
  assert.equal(parseInstant('2026-11-01T00:00:00Z', NOW, '--since'), Date.UTC(2026, 10, 1));
  assert.equal(parseInstant('2026-11-01', NOW, '--since'), Date.UTC(2026, 10, 1));
  for (const bad of ['yesterday', '24', '-1h', '2026-13-45', "2026-11-01'; DROP", '1e9', ''])
    assert.throws(() => parseInstant(bad, NOW, '--since'), bad);
});

test('sensitive column names are column names, nothing else', () => {
  assert.deepEqual(sensitiveColumns('card_number, ssn,,iban'), ['card_number', 'ssn', 'iban']);
  assert.deepEqual(sensitiveColumns(''), []);
  for (const bad of ["ssn'); DROP TABLE x; --", 'a b', 'back\\slash', '%s', 'nul\u0000'])
    assert.throws(() => sensitiveColumns(bad), JSON.stringify(bad));
});

test('a report over the last 24 h goes to stdout as CSV', async () => {
  const h = await runReport(['--since', '24h', '--until', 'now', '--format', 'csv']);
  assert.equal(h.exit, 0);
  const csv = h.out.join('');
  assert.match(csv, /^section,record,/);
  assert.match(csv, /report,period,2026-11-01T12:00:00\.000Z,2026-11-02T12:00:00\.000Z/);
  assert.match(csv, /report,generated,2026-11-02T12:00:00\.000Z/);
  assert.match(csv, /denied,count,denied attempts,4/);
  // Nine section queries, then the verification of the period: the checkpoint chain, the
  // sessions, the retention records, and whether the projections exist to be checked.
  assert.equal(h.queries.length, 13);
  assert.ok(h.queries.every((q) => !q.includes('FINAL') || q.includes('policy_publications FINAL')));
});

test('the default format is JSON with every section', async () => {
  const h = await runReport([]);
  assert.equal(h.exit, 0);
  const doc = JSON.parse(h.out.join('')) as { period: { since: string }; verification: { ok: boolean } | null; summary: unknown[] };
  assert.equal(doc.period.since, '2026-11-01T12:00:00.000Z');
  // Nothing stored in the period: nothing verified, which is not a pass.
  assert.equal(doc.verification?.ok, false);
  assert.ok(doc.summary.length > 5);
});

test('html and pdf with --out are written to the file, not stdout', async () => {
  const html = await runReport(['--format', 'html', '--out', '/tmp/r.html']);
  assert.equal(html.exit, 0);
  assert.equal(html.out.length, 0);
  assert.match(String(html.written[0]?.data), /^<!DOCTYPE html>/);
  const pdf = await runReport(['--format', 'pdf', '--out', '/tmp/r.pdf']);
  assert.equal(pdf.exit, 0);
  assert.equal(pdf.pdfInputs.length, 1);
  assert.match(pdf.pdfInputs[0] ?? '', /<title>agentgate compliance report<\/title>/);
  assert.deepEqual(pdf.written, [{ path: '/tmp/r.pdf', data: Buffer.from('%PDF-1.4 fake') }]);
});

test('a PDF without --out, an empty period or an unknown format is a usage error and queries nothing', async () => {
  for (const args of [
    ['--format', 'pdf'],
    ['--since', 'now', '--until', '24h'],
    ['--format', 'xlsx'],
    ['--since', 'last tuesday'],
    ['--limit', '0'],
  ]) {
    const h = await runReport(args);
    assert.equal(h.exit, 2, args.join(' '));
    assert.equal(h.queries.length, 0, args.join(' '));
  }
  const pdf = await runReport(['--format', 'pdf']);
  assert.match(pdf.err.join(''), /AG_ERR_CONFIG_INVALID/);
});

const verification = {
  since: null,
  sessionsChecked: 5,
  eventsChecked: 50,
  checkpoints: [{ checkpointerId: 'cp', seq: 1, keyId: 'k1', coveredUntilUs: 1, heads: 5, signature: 'U0lH', valid: true }],
  trustedKeys: [{ keyId: 'k1', publicKey: 'UFVC' }],
  findings: [],
  ok: true,
};

test('a verification report given with --verification is embedded', async () => {
  const h = await runReport(['--verification', 'v.json'], { 'v.json': JSON.stringify(verification) });
  assert.equal(h.exit, 0);
  assert.deepEqual((JSON.parse(h.out.join('')) as { verification: unknown }).verification, verification);
});

test('a file that is not a verification report is refused by name', async () => {
  assert.throws(
    () => parseVerification('{"ok":true}', 'x.json'),
    (e: { code?: string }) => e.code === 'AG_ERR_CONFIG_INVALID',
  );
  assert.throws(
    () => parseVerification('not json', 'x.json'),
    (e: { code?: string }) => e.code === 'AG_ERR_CONFIG_INVALID',
  );
  const h = await runReport(['--verification', 'bad.json'], { 'bad.json': '[]' });
  assert.equal(h.exit, 2);
  assert.match(h.err.join(''), /bad\.json.*AG_ERR_CONFIG_INVALID/);
  const missing = await runReport(['--verification', 'nope.json']);
  assert.equal(missing.exit, 1);
});

test('without --verification the report verifies the period itself against the trusted keys', async () => {
  const h = await runReport(['--since', '24h', '--format', 'json']);
  assert.equal(h.exit, 0, h.err.join(''));
  assert.ok(
    h.queries.some((q) => q.includes("session_id LIKE 'checkpoint/%'")),
    'the checkpoint chain is read',
  );
  const report = JSON.parse(h.out.join('')) as { verification: { trustedKeys: { keyId: string }[] } | null };
  assert.deepEqual(
    report.verification?.trustedKeys.map((k) => k.keyId),
    [keyIdOf(publicKey)],
  );
});
