// Live fuzz of the PostgreSQL ingress: thousands of raw TCP connections, each sending a seeded
// mutation of golden client bytes (psql, node-postgres, pgjdbc), split into chunks with small
// delays. Every connection must end within 5 s, and afterwards the ingress must still serve,
// hold no session and no target connection it did not hold before, and be the same process.
//   AG_LIVE_FUZZ_CONNECTIONS (default 3000), AG_FUZZ_SEED; scripts/soak-fuzz.sh runs it long.
// One connection in twenty logs in with a real token and fuzzes only what follows the
// password, so sessions with an upstream connection are fuzzed too; their statements are
// read-only, and the token's bytes are never mutated (they must not land in SQL text).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { below, golden, mulberry32 } from '@agentgate/pg-wire/testing';
import { ROOT, psql, stack, targetQuery, token, uniqueMarker } from '../support/stack.js';

const CONNECTIONS = envInt('AG_LIVE_FUZZ_CONNECTIONS', 3000);
const SEED = envInt('AG_FUZZ_SEED', 0x5eed_11fe);
const CONCURRENCY = 20;
const HANG_MS = 5000;
const AUTHENTICATED_SHARE = 0.05;
// Connections that never end their side: the ingress must close them itself (startup timeout).
const HOLD_SHARE = 0.02;
const METRICS_URL = `http://127.0.0.1:${process.env['AG_INGRESS_POSTGRES_ADMIN_PORT'] ?? 15480}/metrics`;
const PID_FILE = join(ROOT, '.stack/run/ingress-postgres.pid');
// The gateway logs in to the target as one of its connections' roles (deploy/connections.json);
// that, not the application_name it forwards (the agent's, possibly cut or prefixed), is what
// tells its connections apart.
const GATEWAY_ROLES = "('agentgate_demo_rw', 'agentgate_demo_ro', 'agentgate_scratch')";
const UPSTREAMS_SQL = `select count(*) from pg_stat_activity where usename in ${GATEWAY_ROLES} and backend_type = 'client backend'`;

function envInt(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got ${text}`);
  return value;
}

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

const SSL_REQUEST = golden.PSQL_SSL_REQUEST;
const GSSENC_REQUEST = golden.GSSENC_REQUEST;
const CANCEL_REQUEST = golden.PSQL_CANCEL_REQUEST;
const STARTUPS = [golden.PSQL_STARTUP, golden.NODE_PG_STARTUP, golden.JDBC_STARTUP];
const MD5_PASSWORD = golden.PSQL_MD5_PASSWORD;
const TERMINATE = golden.PSQL_TERMINATE;
/** Typed messages that only read; the ones sent after a real login. */
const READ_ONLY = [
  golden.PSQL_QUERY_SELECT_1,
  hex(`50 0000002b 00 73656c6563742024313a3a696e7434206173206e2c2024323a3a74657874206173207400 0000
    42 0000001c 00 00 0002 0000 0000 0002 00000002 3432 ffffffff 0001 0000
    44 00000006 50 00  45 00000009 00 00000000  53 00000004`), // node-postgres extended query
  hex(`50 0000004b 00
    73656c6563742069642c206e616d652066726f6d20637573746f6d657273207768657265206964203d20243120616e64206e616d65203c3e20243200
    0002 00000014 00000413
    42 00000021 00 00 0002 0001 0000 0002 00000008 0000000000000002 00000001 78 0000
    44 00000006 50 00  45 00000009 00 00000000  53 00000004`), // pgjdbc extended query
  hex(`50 0000004e 535f3100
    73656c6563742069642c206e616d652066726f6d20637573746f6d657273207768657265206964203d20243120616e64206e616d65203c3e20243200
    0002 00000014 00000413
    42 00000024 00 535f3100 0002 0001 0000 0002 00000008 0000000000000002 00000001 78 0000
    44 00000006 50 00  45 00000009 00 00000000  53 00000004`), // pgjdbc server-prepared S_1
  hex(`42 00000028 00 535f3100 0002 0001 0000 0002 00000008 0000000000000001 00000001 78 0002 0001 0000
    45 00000009 00 00000000  53 00000004`), // pgjdbc execute S_1
  hex('48 00000004'), // Flush
  golden.FUNCTION_CALL,
];
/** Before a login the pool may hold anything a client sends, writes included: none can run. */
const ANY_TYPED = [
  ...READ_ONLY,
  MD5_PASSWORD,
  hex('51 00000018 434f50592020742046524f4d20535444494e2000 64 00000008 310a320a 63 00000004'), // psql \copy from stdin
  TERMINATE,
];

type Rand = () => number;

const pick = <T>(rand: Rand, items: readonly T[]): T => items[below(rand, items.length)]!;

function randomBytes(rand: Rand, n: number): Buffer {
  return Buffer.from(Array.from({ length: n }, () => below(rand, 256)));
}

const EDGE_LENGTHS = [0, 3, 4, 7, 8, 9, 16, 10_000, 10_001, 0x7fffffff, -1];

function mutateOnce(rand: Rand, b: Buffer): Buffer {
  if (b.length === 0) return randomBytes(rand, 1 + below(rand, 16));
  const out = Buffer.from(b);
  switch (below(rand, 7)) {
    case 0: // bit flips
      for (let n = 1 + below(rand, 4); n > 0; n--) out[below(rand, out.length)]! ^= 1 << below(rand, 8);
      return out;
    case 1: {
      // insert random bytes
      const at = below(rand, b.length + 1);
      return Buffer.concat([b.subarray(0, at), randomBytes(rand, 1 + below(rand, 16)), b.subarray(at)]);
    }
    case 2: {
      // delete a range
      const at = below(rand, b.length);
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + below(rand, 16))]);
    }
    case 3: {
      // overwrite an int32 anywhere, often a length word, with an edge value
      if (b.length < 4) return out;
      out.writeInt32BE(pick(rand, EDGE_LENGTHS) | 0, below(rand, b.length - 3));
      return out;
    }
    case 4: // truncate
      return b.subarray(0, below(rand, b.length));
    case 5: {
      // splice in the tail of another golden stream
      const other = pick(rand, [...STARTUPS, ...ANY_TYPED]);
      return Buffer.concat([b.subarray(0, below(rand, b.length + 1)), other.subarray(below(rand, other.length))]);
    }
    default: // random byte value
      out[below(rand, out.length)] = below(rand, 256);
      return out;
  }
}

function mutate(rand: Rand, b: Buffer): Buffer {
  let out = b;
  for (let n = 1 + below(rand, 3); n > 0; n--) out = mutateOnce(rand, out);
  return out;
}

function typed(rand: Rand, pool: readonly Buffer[]): Buffer[] {
  return Array.from({ length: 1 + below(rand, 3) }, () => pick(rand, pool));
}

function cstrings(pairs: [string, string][]): Buffer {
  return Buffer.from(`${pairs.map(([k, v]) => `${k}\0${v}\0`).join('')}\0`);
}

/** A well-formed login as demo-agent: StartupMessage, then the token as the password. */
function login(applicationName: string, accessToken: string): Buffer {
  const body = cstrings([
    ['user', 'demo-agent'],
    ['database', 'demo'],
    ['application_name', applicationName],
  ]);
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8 + body.length, 0);
  startup.writeInt32BE(196608, 4);
  const password = Buffer.from(`${accessToken}\0`);
  const header = Buffer.alloc(5);
  header.write('p', 0, 'latin1');
  header.writeInt32BE(4 + password.length, 1);
  return Buffer.concat([startup, body, header, password]);
}

interface Plan {
  /** Bytes that are sent unmutated first (a real login), then the fuzzed part. */
  prefix: Buffer;
  fuzzed: Buffer;
  mode: 'end' | 'hold' | 'linger';
  chunks: number[];
  delaysMs: number[];
  lingerMs: number;
}

function plan(i: number, login: Buffer): Plan {
  const rand = mulberry32((SEED ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
  let prefix: Buffer = Buffer.alloc(0);
  let source: Buffer;
  let mode: Plan['mode'] = 'end';
  if (rand() < AUTHENTICATED_SHARE) {
    prefix = login;
    source = Buffer.concat(typed(rand, READ_ONLY));
    mode = 'linger';
  } else {
    const startup = pick(rand, STARTUPS);
    switch (below(rand, 6)) {
      case 0:
        source = startup;
        break;
      case 1:
        source = Buffer.concat([startup, MD5_PASSWORD, ...typed(rand, ANY_TYPED)]);
        break;
      case 2:
        source = Buffer.concat([SSL_REQUEST, startup]);
        break;
      case 3:
        source = Buffer.concat([GSSENC_REQUEST, startup, ...typed(rand, ANY_TYPED)]);
        break;
      case 4:
        source = CANCEL_REQUEST;
        break;
      default:
        source = Buffer.concat([startup, ...typed(rand, ANY_TYPED)]);
    }
    if (rand() < HOLD_SHARE) mode = 'hold';
  }
  const fuzzed = mutate(rand, source);
  // Split points: whole, or up to five pieces at random offsets.
  const total = prefix.length + fuzzed.length;
  const cuts = new Set<number>();
  for (let n = below(rand, 5); n > 0; n--) cuts.add(1 + below(rand, Math.max(1, total - 1)));
  const chunks = [...cuts].filter((c) => c < total).sort((a, b) => a - b);
  const delaysMs = chunks.map(() => (below(rand, 4) === 0 ? below(rand, 20) : 0));
  return { prefix, fuzzed, mode, chunks, delaysMs, lingerMs: mode === 'linger' ? below(rand, 300) : 0 };
}

type Ending = 'server-closed' | 'tls-offered' | 'hang' | 'refused';

interface Result {
  ending: Ending;
  answered: boolean;
  resetByServer: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Runs one connection; resolves when it has ended or was declared hung. */
function run(p: Plan): Promise<Result> {
  const bytes = Buffer.concat([p.prefix, p.fuzzed]);
  return new Promise((resolve) => {
    const socket = connect({ host: stack.ingressHost, port: stack.ingressPort });
    let answered = false;
    let first: number | undefined;
    let resetByServer = false;
    let connected = false;
    let settled = false;
    let hangTimer: NodeJS.Timeout | undefined;
    const settle = (ending: Ending): void => {
      if (settled) return;
      settled = true;
      clearTimeout(hangTimer);
      socket.destroy();
      resolve({ ending, answered, resetByServer });
    };
    const armHangTimer = (): void => {
      hangTimer = setTimeout(() => settle('hang'), HANG_MS);
    };
    socket.on('data', (d: Buffer) => {
      answered = true;
      first ??= d[0];
      // 'S' alone answers an SSLRequest: a TLS handshake would have to follow. Just end.
      if (first === 0x53 && d.length === 1 && p.mode !== 'hold') settle('tls-offered');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected && err.code === 'ECONNREFUSED') settle('refused');
      else if (err.code === 'ECONNRESET' || err.code === 'EPIPE') resetByServer = true;
    });
    socket.on('close', () => settle('server-closed'));
    socket.on('connect', () => {
      connected = true;
      void (async () => {
        let at = 0;
        for (const [k, cut] of [...p.chunks, bytes.length].entries()) {
          if (settled || socket.destroyed) return;
          socket.write(bytes.subarray(at, cut));
          at = cut;
          const delay = p.delaysMs[k] ?? 0;
          if (delay > 0) await sleep(delay);
        }
        if (p.lingerMs > 0) await sleep(p.lingerMs);
        if (settled || socket.destroyed) return;
        if (p.mode !== 'hold') socket.end();
        armHangTimer();
      })();
    });
  });
}

async function sessionsActive(): Promise<number> {
  const text = await (await fetch(METRICS_URL)).text();
  const m = /^agentgate_pg_sessions_active (\d+)$/m.exec(text);
  if (!m) throw new Error(`no agentgate_pg_sessions_active in ${METRICS_URL}`);
  return Number(m[1]);
}

function ingressPid(): number {
  return Number(readFileSync(PID_FILE, 'utf8').trim());
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Polls until `probe` returns at most `limit`; returns the last value seen. */
async function settlesTo(probe: () => Promise<number> | number, limit: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value <= limit || Date.now() > deadline) return value;
    await sleep(250);
  }
}

function ingressLogTail(lines: number): string {
  const file = join(stack.logDir, 'ingress-postgres.log');
  if (!existsSync(file)) return '(no ingress log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

test(`${CONNECTIONS} fuzzed connections to the live ingress (seed ${SEED}): no crash, hang or leak`, {
  timeout: 60_000 + CONNECTIONS * 200,
}, async () => {
  const pidBefore = ingressPid();
  assert.ok(alive(pidBefore), `ingress pid ${pidBefore} from ${PID_FILE} is not running`);
  const sessionsBefore = await sessionsActive();
  const upstreamsBefore = Number(targetQuery(UPSTREAMS_SQL));
  const marker = uniqueMarker('fuzz');
  const loginBytes = login(marker, token('demo-agent'));

  const started = Date.now();
  const counts = new Map<string, number>();
  const bump = (key: string): void => void counts.set(key, (counts.get(key) ?? 0) + 1);
  const hangs: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < CONNECTIONS; i = next++) {
      const p = plan(i, loginBytes);
      const r = await run(p);
      bump(r.ending);
      bump(`mode ${p.mode}`);
      if (r.answered) bump('answered');
      if (r.resetByServer) bump('reset');
      // The fuzzed part is what reproduces a failure; the login prefix holds a token.
      if (r.ending === 'hang') hangs.push(`#${i} ${p.mode}${p.prefix.length ? ' after login' : ''}: ${p.fuzzed.toString('hex')}`);
      if (r.ending === 'refused') break;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const elapsed = Date.now() - started;
  console.log(
    `live fuzz: ${CONNECTIONS} connections in ${elapsed} ms (seed ${SEED}): ${JSON.stringify(Object.fromEntries([...counts].sort()))}`,
  );

  // The fuzzed sessions' upstreams: the gateway's connections that carry the marker (whole,
  // since it is far shorter than the 63 bytes PostgreSQL keeps).
  const oursSql = `from pg_stat_activity where usename in ${GATEWAY_ROLES} and strpos(application_name, '${marker}') > 0`;
  try {
    assert.equal(counts.get('refused') ?? 0, 0, `the ingress refused connections; last log lines:\n${ingressLogTail(20)}`);
    assert.deepEqual(hangs.slice(0, 10), [], `${hangs.length} connections did not end within ${HANG_MS} ms`);

    // (d) the same process, not one restarted by a supervisor.
    const pidAfter = ingressPid();
    assert.equal(pidAfter, pidBefore, `the ingress restarted; last log lines:\n${ingressLogTail(20)}`);
    assert.ok(alive(pidAfter), `the ingress (pid ${pidAfter}) is gone; last log lines:\n${ingressLogTail(20)}`);

    // (a) still serving.
    const result = await psql(['-tA', '-c', 'select 1'], { applicationName: uniqueMarker('e2e_after_fuzz') });
    assert.equal(result.stdout.trim(), '1', `psql after the fuzz: ${result.stderr}`);

    // (b) no leaked session, (c) no leaked target connection: back to the baseline.
    const sessionsAfter = await settlesTo(sessionsActive, sessionsBefore, 10_000);
    const ours = await settlesTo(() => Number(targetQuery(`select count(*) ${oursSql}`)), 0, 10_000);
    const upstreamsAfter = await settlesTo(() => Number(targetQuery(UPSTREAMS_SQL)), upstreamsBefore, 10_000);
    assert.ok(sessionsAfter <= sessionsBefore, `agentgate_pg_sessions_active ${sessionsAfter}, was ${sessionsBefore} before`);
    assert.equal(ours, 0, `${ours} target connections of fuzzed sessions were still open (now terminated)`);
    assert.ok(upstreamsAfter <= upstreamsBefore, `${upstreamsAfter} agentgate target connections, were ${upstreamsBefore} before`);
  } finally {
    // A leak would hold target connections (and their sessions) into later tests: end them.
    // Ending the target side is also what lets a stuck session finish.
    targetQuery(`select count(pg_terminate_backend(pid)) ${oursSql}`);
  }
});
