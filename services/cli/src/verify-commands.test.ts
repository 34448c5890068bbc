// `agentgate verify` and `agentgate export` against a fake ClickHouse and fake files: what is
// read, what is printed, and the exit codes an auditor relies on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command, CommanderError } from 'commander';
import {
  namedSessionsQuery,
  parseExport,
  parseTrustedKeys,
  sampleAuditLog,
  sessionRowsQuery,
  type StoredEventRow,
  type VerificationReport,
} from '@agentgate/audit-verify';
import type { AuditReader } from './backends.js';
import type { CliConfig } from './config.js';
import { registerVerify, type VerifyCommandContext } from './verify-commands.js';

const NOW = Date.UTC(2026, 10, 28, 12, 0, 0);
const KEYS = '/keys.json';

interface Harness {
  out: string;
  err: string;
  queries: string[];
  written: Map<string, string>;
  exit: number | undefined;
}

interface Setup {
  rows: StoredEventRow[];
  files?: Record<string, string>;
}

function isCheckpointQuery(q: string): boolean {
  return q.includes("session_id LIKE 'checkpoint/%'") && !q.includes('NOT LIKE');
}

async function run(args: string[], setup: Setup): Promise<Harness> {
  const h: Harness = { out: '', err: '', queries: [], written: new Map(), exit: undefined };
  const reader: AuditReader = {
    async rows<T>(query: string): Promise<T[]> {
      h.queries.push(query);
      const checkpoint = (r: StoredEventRow) => r.session_id.startsWith('checkpoint/');
      if (isCheckpointQuery(query)) return setup.rows.filter(checkpoint) as T[];
      if (query.includes('NOT LIKE')) return setup.rows.filter((r) => !checkpoint(r)) as T[];
      return setup.rows.filter((r) => query.includes(`'${r.session_id}'`)) as T[];
    },
    close: async () => {},
  };
  const files = setup.files ?? {};
  const ctx: VerifyCommandContext = {
    io: {
      out: (s) => {
        h.out += s;
      },
      err: (s) => {
        h.err += s;
      },
    },
    configOf: () => ({ clickhouseDatabase: 'agentgate', checkpointKeysFile: KEYS }) as CliConfig,
    withAudit: (r) => r(reader),
    setExit: (code) => {
      h.exit = code;
    },
    now: () => NOW,
    readText: async (path) => {
      const text = files[path] ?? h.written.get(path);
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return text;
    },
    readLines: (path) => {
      const text = files[path] ?? h.written.get(path);
      return (async function* () {
        if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
        const lines = text.split('\n');
        if (lines.at(-1) === '') lines.pop();
        yield* lines;
      })();
    },
    writeLines: async (path, lines) => {
      h.written.set(path, [...lines].join(''));
    },
  };
  const program = new Command('agentgate').exitOverride().configureOutput({
    writeOut: () => {},
    writeErr: (s) => {
      h.err += s;
    },
  });
  registerVerify(program, ctx);
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    h.exit = 2;
  }
  return h;
}

function keysFile(log: ReturnType<typeof sampleAuditLog>): string {
  return JSON.stringify({ keys: log.signer.trusted.map((k) => ({ ...k, comment: 'test checkpointer' })) });
}

test('given a clean log in ClickHouse, when verified, then exit 0 with the uncovered session and an OK summary', async () => {
  const log = sampleAuditLog();
  const h = await run(['verify'], { rows: log.rows, files: { [KEYS]: keysFile(log) } });
  assert.equal(h.exit, 0, h.err);
  const lines = h.out.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^UNCOVERED session dddddddd-\S+ seq 0: /);
  assert.match(
    lines[1] ?? '',
    /^OK: \d+ events in 6 sessions checked, 3 checkpoints \(3 signatures valid against 1 trusted keys\); no finding/,
  );
  assert.equal(lines.length, 2);
});

test('given an edited sql_text cell and a deleted row, when verified, then exit 1 and one line names each', async () => {
  const log = sampleAuditLog();
  const B = 'bbbbbbbb-0000-4000-8000-00000000000b';
  const rows = log.rows.filter((r) => !(r.session_id === B && r.seq === '3'));
  const cell = rows.find((r) => r.session_id === B && r.seq === '1');
  assert.ok(cell);
  cell.sql_text = "select 'other'";
  const h = await run(['verify'], { rows, files: { [KEYS]: keysFile(log) } });
  assert.equal(h.exit, 1);
  const lines = h.out.trimEnd().split('\n');
  assert.match(lines[0] ?? '', new RegExp(`^COLUMN-MISMATCH session ${B} seq 1 column sql_text: `));
  assert.match(lines[1] ?? '', new RegExp(`^MISSING session ${B} seq 3: `));
  assert.match(lines.at(-1) ?? '', /^FAILED: .* 2 findings \(column-mismatch 1, missing 1\)/);
});

test('given --json, then stdout is the verification report and nothing else', async () => {
  const log = sampleAuditLog();
  const h = await run(['verify', '--json'], { rows: log.rows, files: { [KEYS]: keysFile(log) } });
  const report = JSON.parse(h.out) as VerificationReport;
  assert.equal(report.ok, true);
  assert.equal(report.checkpoints.length, 3);
  assert.equal(h.exit, 0);
});

test('given no rows, when verified, then exit 3 and stderr says nothing was verified', async () => {
  const log = sampleAuditLog();
  const h = await run(['verify', '--since', '24h'], { rows: [], files: { [KEYS]: keysFile(log) } });
  assert.equal(h.exit, 3);
  assert.equal(h.out, '');
  assert.match(h.err, /^NOTHING VERIFIED: .*0 events were checked/);
});

test('given --since and a deleted session, then the session a checkpoint names is looked up by id and reported missing', async () => {
  const log = sampleAuditLog();
  const C = 'cccccccc-0000-4000-8000-00000000000c';
  const rows = log.rows.filter((r) => r.session_id !== C);
  // The sample log's checkpoints end 2026-11-18T...; a --since before them keeps them in scope.
  const h = await run(['verify', '--since', '2026-11-01T00:00:00Z'], { rows, files: { [KEYS]: keysFile(log) } });
  assert.equal(h.exit, 1);
  assert.match(h.out, new RegExp(`^MISSING-SESSION session ${C}: `, 'm'));
  assert.match(h.queries[1] ?? '', /WHERE time_us >= 1793491200000000\)/);
  assert.ok(h.queries.some((q) => q.includes(`IN ('${C}'`)));
});

test('given an export file, then verify reads it offline (no query) with the same verdict; a cut file exits 1', async () => {
  const log = sampleAuditLog();
  const exported = await run(['export', '--since', '30d', '--out', '/a.jsonl'], { rows: log.rows });
  assert.equal(exported.exit, 0, exported.err);
  assert.match(exported.out, new RegExp(`^exported ${log.rows.length} rows \\(5 sessions, 3 checkpoint rows\\) to /a.jsonl`));
  const text = exported.written.get('/a.jsonl') ?? '';
  const asJson = await run(['export', '--since', '30d', '--out', '/b.jsonl', '--json'], { rows: log.rows });
  assert.deepEqual(JSON.parse(asJson.out).rows, log.rows.length);
  assert.equal(asJson.written.get('/b.jsonl')?.length, text.length);
  assert.equal(parseExport(text).header.since, new Date(NOW - 30 * 86_400_000).toISOString());

  const offline = await run(['verify', '--file', '/a.jsonl', '--keys', '/k.json'], {
    rows: [],
    files: { '/a.jsonl': text, '/k.json': keysFile(log) },
  });
  assert.equal(offline.exit, 0, offline.err);
  assert.deepEqual(offline.queries, []);
  assert.match(offline.out, /^OK: /m);

  const absent = await run(['verify', '--file', '/nope.jsonl'], { rows: [], files: { [KEYS]: keysFile(log) } });
  assert.equal(absent.exit, 2);
  assert.match(absent.err, /AG_ERR_CONFIG_INVALID/);

  const cut = text.split('\n').slice(0, 4).join('\n');
  const refused = await run(['verify', '--file', '/cut.jsonl'], { rows: [], files: { '/cut.jsonl': cut, [KEYS]: keysFile(log) } });
  assert.equal(refused.exit, 1);
  assert.match(refused.err, /AG_ERR_EXPORT_INVALID/);
});

test('given no keys file or a wrong key, then verify is a configuration error (exit 2), nothing read', async () => {
  const log = sampleAuditLog();
  const missing = await run(['verify'], { rows: log.rows });
  assert.equal(missing.exit, 2);
  assert.match(missing.err, /AG_ERR_CONFIG_INVALID/);
  assert.deepEqual(missing.queries, []);
  const [key] = log.signer.trusted;
  assert.ok(key);
  const wrongId = JSON.stringify({ keys: [{ ...key, keyId: '0'.repeat(32) }] });
  assert.equal((await run(['verify'], { rows: log.rows, files: { [KEYS]: wrongId } })).exit, 2);
  for (const bad of ['{', '{"keys":[]}', '{"keys":[{"keyId":"x","publicKey":"bm90IGEga2V5"}]}']) {
    assert.throws(
      () => parseTrustedKeys(bad, KEYS),
      (e: unknown) => (e as { code?: string }).code === 'AG_ERR_CONFIG_INVALID',
      bad,
    );
  }
  assert.deepEqual(parseTrustedKeys(keysFile(log), KEYS), log.signer.trusted);
});

test('given a malformed --since, then usage error (exit 2) and nothing is read', async () => {
  const log = sampleAuditLog();
  for (const bad of ['yesterday', "2026-11-01'; DROP TABLE x", '-1h']) {
    const h = await run(['verify', '--since', bad], { rows: log.rows, files: { [KEYS]: keysFile(log) } });
    assert.equal(h.exit, 2, bad);
    assert.deepEqual(h.queries, []);
  }
});

test('session ids and times reach ClickHouse only as quoted literals', () => {
  assert.match(namedSessionsQuery('agentgate', ["x') OR 1=1 --", 'b\\']), /IN \('x\\'\) OR 1=1 --', 'b\\\\'\)/);
  assert.match(sessionRowsQuery('agentgate', { sinceUs: 5, untilUs: 9 }), /WHERE time_us >= 5 AND time_us < 9\)/);
  assert.doesNotMatch(sessionRowsQuery('agentgate', { sinceUs: null, untilUs: null }), /time_us/);
  assert.throws(() => sessionRowsQuery('agentgate', { sinceUs: -1, untilUs: null }));
});
