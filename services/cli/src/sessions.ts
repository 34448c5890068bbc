// `agentgate sessions`: recent sessions from the ClickHouse projection (read-only).
import { quoteIdentifier, quoteUInt } from '@agentgate/clickhouse';
import type { AuditReader } from './backends.js';
import { printJson, table, utc, type CliIo } from './output.js';

export interface SessionsOptions {
  limit: number;
  json: boolean;
}

interface SessionRow {
  session_id: string;
  started_us: string;
  subject: string;
  actor: string;
  connection: string;
  requests: string;
  denied: string;
  closed: string;
}

/** One session as --json prints it. */
export interface SessionSummary {
  session_id: string;
  started_at: string;
  /** The principal the session is for (the token's sub). */
  subject: string;
  /** The acting agent (outermost act.sub), the subject itself when not delegated. */
  actor: string;
  connection: string;
  requests: number;
  denied: number;
  state: 'open' | 'closed';
}

/** The query, with every value quoted by @agentgate/clickhouse. */
export function sessionsQuery(database: string, limit: number): string {
  return `SELECT session_id, min(time_us) AS started_us, anyIf(subject, subject != '') AS subject,
              anyIf(actor, actor != '') AS actor,
              anyIf(connection, event_type = 'SessionOpened') AS connection,
              countIf(event_type = 'RequestObserved') AS requests,
              countIf(event_type = 'VerdictIssued' AND decision = 'deny' AND shadow = 0) AS denied,
              countIf(event_type = 'SessionClosed') AS closed
            FROM ${quoteIdentifier(database)}.events GROUP BY session_id ORDER BY started_us DESC LIMIT ${quoteUInt(limit)}`;
}

/** ClickHouse returns 64-bit counts as strings; they are small here. */
export function toSummary(row: SessionRow): SessionSummary {
  return {
    session_id: row.session_id,
    started_at: new Date(Number(row.started_us) / 1000).toISOString(),
    subject: row.subject,
    actor: row.actor,
    connection: row.connection,
    requests: Number(row.requests),
    denied: Number(row.denied),
    state: row.closed === '0' ? 'open' : 'closed',
  };
}

export async function sessions(audit: AuditReader, database: string, options: SessionsOptions, io: CliIo): Promise<number> {
  const list = (await audit.rows<SessionRow>(sessionsQuery(database, options.limit))).map(toSummary);
  if (options.json) {
    printJson(io, { sessions: list });
    return 0;
  }
  if (list.length === 0) {
    io.err('no sessions recorded yet; open one with `npx agentgate psql demo --as demo-agent`\n');
    return 0;
  }
  io.out(
    table(
      ['started (UTC)', 'session', 'subject', 'actor', 'connection', 'requests', 'denied', 'state'],
      list.map((s) => [
        utc(new Date(s.started_at)),
        s.session_id,
        s.subject || '-',
        s.actor || '-',
        s.connection || '-',
        String(s.requests),
        String(s.denied),
        s.state,
      ]),
    ),
  );
  return 0;
}
