// `agentgate kill`: an administrator asks, through the control topic, the ingress holding a
// session to end it, then waits until the session's close is in the audit log. The request
// is an audit event itself, carrying the administrator's verified identity.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { quoteIdentifier, quoteString } from '@agentgate/clickhouse';
import { GENESIS, chainEvent, type AuditEvent } from '@agentgate/events';
import type { VerifiedIdentity } from '@agentgate/identity';
import { publishControl, type AuditReader } from './backends.js';
import { actorOf, requireAdmin, verifiedCaller } from './caller.js';
import type { CliConfig } from './config.js';
import { EXIT } from './exit-codes.js';
import { printJson, type CliIo } from './output.js';

export interface KillOptions {
  session: string;
  reason: string;
  tokenFile?: string | undefined;
  json: boolean;
  /** How long to wait for the close to be recorded. */
  waitMs?: number;
}

export const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The SessionKillRequested command; ids and time come in, so this is pure. */
export function killRequest(
  admin: VerifiedIdentity,
  target: string,
  reason: string,
  ids: { eventId: string; sessionId: string; timeUs: number; producer: string },
): AuditEvent {
  return chainEvent(
    {
      eventId: ids.eventId,
      eventType: 'SessionKillRequested',
      // The request is its own one-event session in the audit log; the target is in the payload.
      sessionId: ids.sessionId,
      timeUs: ids.timeUs,
      producer: ids.producer,
      traceId: null,
      actor: actorOf(admin),
      payload: { targetSessionId: target, reason, requestedBy: admin.subject },
    },
    GENESIS,
  ) as AuditEvent;
}

async function closeOf(audit: AuditReader, database: string, target: string): Promise<string | undefined> {
  const [row] = await audit.rows<{ outcome: string }>(
    `SELECT outcome FROM ${quoteIdentifier(database)}.events WHERE session_id = ${quoteString(target)} AND event_type = 'SessionClosed' LIMIT 1`,
  );
  return row?.outcome;
}

export async function kill(config: Readonly<CliConfig>, audit: AuditReader, options: KillOptions, io: CliIo): Promise<number> {
  // Who asks comes first: nothing is published for an unverified or unauthorised caller.
  const admin = await verifiedCaller(config, options.tokenFile, 'kill');
  requireAdmin(admin, config.adminGroups, 'kill');
  const target = options.session;
  // With --json the document goes to stdout and the sentence to stderr; without, a success
  // goes to stdout and anything else to stderr.
  const report = (ok: boolean, closed: boolean, outcome: string | null, message: string): void => {
    if (options.json) printJson(io, { session_id: target, requested_by: admin.subject, kill_sent: ok || !closed, closed, outcome });
    if (ok && !options.json) io.out(`${message}\n`);
    else io.err(`${message}\n`);
  };

  const before = await closeOf(audit, config.clickhouseDatabase, target);
  if (before !== undefined) {
    report(false, true, before, `session ${target} is already closed (${before}); nothing was sent`);
    return EXIT.failure;
  }
  await publishControl(
    config,
    target,
    killRequest(admin, target, options.reason, {
      eventId: randomUUID(),
      sessionId: randomUUID(),
      timeUs: Date.now() * 1000,
      producer: `cli/${hostname()}/${process.pid}`,
    }),
  );

  const waitMs = options.waitMs ?? 10_000;
  const deadline = Date.now() + waitMs;
  while (Date.now() < deadline) {
    const outcome = await closeOf(audit, config.clickhouseDatabase, target);
    if (outcome !== undefined) {
      report(true, true, outcome, `session ${target} closed (${outcome}), requested by ${admin.subject}`);
      return EXIT.ok;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  report(
    false,
    false,
    null,
    `kill requested for ${target} by ${admin.subject}, but no close was recorded within ${waitMs / 1000} s: no live session with that id? (\`npx agentgate sessions\` lists them)`,
  );
  return EXIT.failure;
}
