// The CLI's commands. Each reads the ClickHouse projection; none writes to it.
import { quoteIdentifier, quoteString, quoteUInt, type ClickHouseClient } from '@agentgate/clickhouse';
import { verifyStoredChain } from '@agentgate/events';
import { GatewayError } from '@agentgate/errors';

export interface CommandContext {
  clickhouse: ClickHouseClient;
  database: string;
  out: (line: string) => void;
}

export const USAGE = `usage: agentgate <command> [options]

commands:
  sessions [--limit N]                 recent sessions: who, where, how many statements, denials
  kill --session ID [--reason TEXT] [--as NAME]
                                       end a live session through the control topic
  verify-chain [--session ID] [--limit N]
                                       recompute the per-session hash chains stored in ClickHouse;
                                       exits 1 when any chain is broken
  help                                 this text

environment: AG_CLICKHOUSE_URL (http://127.0.0.1:18123), AG_CLICKHOUSE_DATABASE (agentgate),
             AG_KAFKA_BROKERS (127.0.0.1:19092), AG_REGISTRY_URL, AG_TOPIC_PREFIX (agentgate)`;

function limitOf(flags: Record<string, string>, fallback: number): string {
  const n = Number(flags['limit'] ?? fallback);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new GatewayError('AG_ERR_CONFIG_INVALID', '--limit must be 1..100000');
  return quoteUInt(n);
}

/** Lists recent sessions. */
export async function sessions(ctx: CommandContext, flags: Record<string, string>): Promise<number> {
  const db = quoteIdentifier(ctx.database);
  const r = await ctx.clickhouse.query({
    query: `SELECT session_id, min(time_us) AS started_us, any(actor_subject) AS subject,
              anyIf(connection, event_type = 'SessionOpened') AS connection,
              countIf(event_type = 'RequestObserved') AS requests,
              countIf(event_type = 'VerdictIssued' AND decision = 'deny') AS denied,
              countIf(event_type = 'SessionClosed') AS closed
            FROM ${db}.events GROUP BY session_id ORDER BY started_us DESC LIMIT ${limitOf(flags, 20)}`,
    format: 'JSONEachRow',
  });
  const rows = await r.json<{ session_id: string; started_us: string; subject: string; connection: string; requests: string; denied: string; closed: string }>();
  ctx.out('started (UTC)            session                               subject          connection  requests  denied  state');
  for (const row of rows) {
    const started = new Date(Number(row.started_us) / 1000).toISOString().replace('T', ' ').slice(0, 23);
    ctx.out(`${started}  ${row.session_id}  ${row.subject.padEnd(15)}  ${row.connection.padEnd(10)}  ${row.requests.padStart(8)}  ${row.denied.padStart(6)}  ${row.closed === '0' ? 'open' : 'closed'}`);
  }
  return 0;
}

/** Verifies stored hash chains; returns 1 if any is broken. */
export async function verifyChain(ctx: CommandContext, flags: Record<string, string>): Promise<number> {
  const db = quoteIdentifier(ctx.database);
  const filter = flags['session']
    ? `WHERE session_id = ${quoteString(flags['session'])}`
    : `WHERE session_id IN (SELECT session_id FROM ${db}.events GROUP BY session_id ORDER BY max(time_us) DESC LIMIT ${limitOf(flags, 1000)})`;
  const r = await ctx.clickhouse.query({
    query: `SELECT session_id, seq, hash, prev_hash, canonical_text FROM ${db}.events FINAL ${filter} ORDER BY session_id, seq`,
    format: 'JSONEachRow',
  });
  const rows = await r.json<{ session_id: string; seq: string; hash: string; prev_hash: string; canonical_text: string }>();
  const bySession = new Map<string, typeof rows>();
  for (const row of rows) {
    const list = bySession.get(row.session_id) ?? [];
    list.push(row);
    bySession.set(row.session_id, list);
  }
  let broken = 0;
  for (const [sessionId, list] of bySession) {
    const result = verifyStoredChain(list.map((x) => ({ seq: Number(x.seq), hash: x.hash, prevHash: x.prev_hash || null, canonicalText: x.canonical_text })));
    if (!result.ok) {
      broken++;
      ctx.out(`BROKEN  ${sessionId}  at seq ${result.atSeq}: ${result.reason} (${result.code})`);
    }
  }
  ctx.out(`${bySession.size - broken} of ${bySession.size} session chains verify${broken ? `, ${broken} broken` : ''}`);
  return broken === 0 ? 0 : 1;
}
