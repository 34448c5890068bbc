// Legal holds and retention over HTTP: POST/DELETE/GET /v1/holds and POST /v1/retention/apply.
// A hold is answered once Kafka acknowledged its record, then waited for (bounded) until
// ClickHouse shows it, so a retention run right after sees it. Retention runs one at a time.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Actor, AuditEvent } from '@agentgate/events';
import { GatewayError } from '@agentgate/errors';
import type { Logger } from '@agentgate/observability';
import type { FastifyInstance } from 'fastify';
import { currentHoldsQuery, eventStoredQuery, type HoldRow } from './governance-queries.js';
import { holdEvent } from './governance-events.js';
import { PROBLEM_CONTENT_TYPE, problem } from './problem.js';
import { cutoffFor } from './retention-plan.js';
import { applyRetention } from './retention-run.js';

/** Retention may never reach into the current month: at least this many days are kept. */
export const MIN_RETENTION_DAYS = 31;
export const MAX_RETENTION_DAYS = 36_500;
export const MAX_SESSION_ID = 256;
export const MAX_REASON = 1024;

export interface GovernanceDeps {
  /** Writes one event to the governance topic; resolves once Kafka acknowledged it. Throws AG_ERR_AUDIT_UNAVAILABLE. */
  publish(event: AuditEvent): Promise<void>;
  /** Runs one ALTER TABLE ... DROP PARTITION as the ClickHouse user `retention`. */
  dropPartition(sql: string): Promise<void>;
  /** Default age for retention (AG_RETENTION_DAYS). */
  retentionDays: number;
  /** The producer of governance records (the service name). */
  producer: string;
  newId(): string;
  /** Microseconds since the epoch. */
  nowUs(): number;
  /** How long a hold waits to show in ClickHouse before it is answered anyway (projected: false). */
  projectionWaitMs: number;
  projectionPollMs?: number;
}

export interface GovernanceContext {
  query<T>(sql: string): Promise<T[]>;
  database: string;
  governance: GovernanceDeps;
  logger?: Logger | undefined;
}

const HOLD_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['sessionId', 'reason'],
  properties: {
    sessionId: { type: 'string', minLength: 1, maxLength: MAX_SESSION_ID },
    reason: { type: 'string', minLength: 1, maxLength: MAX_REASON },
  },
} as const;

const RELEASE_SCHEMA = {
  params: {
    type: 'object',
    properties: { sessionId: { type: 'string', minLength: 1, maxLength: MAX_SESSION_ID } },
    required: ['sessionId'],
  },
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['reason'],
    properties: { reason: { type: 'string', minLength: 1, maxLength: MAX_REASON } },
  },
} as const;

const RETENTION_BODY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    olderThanDays: { type: 'integer', minimum: MIN_RETENTION_DAYS, maximum: MAX_RETENTION_DAYS },
    dryRun: { type: 'boolean', default: false },
  },
} as const;

function auditorOf(actor: Actor | null): Actor {
  // The onRequest hook sets it for every /v1 route; its absence is a wiring fault.
  if (actor === null) throw new GatewayError('AG_ERR_INTERNAL', 'no authenticated auditor');
  return actor;
}

function holdView(row: HoldRow): { sessionId: string; reason: string; requestedBy: string; since: string } {
  return {
    sessionId: row.session_id,
    reason: row.reason,
    requestedBy: row.requested_by,
    since: new Date(Math.floor(Number(row.changed_us) / 1000)).toISOString(),
  };
}

export function registerGovernanceRoutes(app: FastifyInstance, ctx: GovernanceContext): void {
  const g = ctx.governance;
  const pollMs = g.projectionPollMs ?? 200;
  let retentionQueue: Promise<unknown> = Promise.resolve();

  const holds = async (): Promise<HoldRow[]> => ctx.query<HoldRow>(currentHoldsQuery(ctx.database));

  /** Whether the event is in ClickHouse within the wait; Kafka already has it either way. */
  async function projected(eventId: string): Promise<boolean> {
    const deadline = Date.now() + g.projectionWaitMs;
    for (;;) {
      const [row] = await ctx.query<{ n: string | number }>(eventStoredQuery(ctx.database, eventId));
      if (Number(row?.n ?? 0) > 0) return true;
      if (Date.now() >= deadline) return false;
      await sleep(pollMs);
    }
  }

  async function changeHold(actor: Actor, heldSessionId: string, action: 'add' | 'remove', reason: string) {
    const event = holdEvent({ eventId: g.newId(), timeUs: g.nowUs(), producer: g.producer, actor }, { heldSessionId, action, reason });
    await g.publish(event);
    const visible = await projected(event.eventId);
    // The session id is an audit fact, the reason may be free text: it stays in the record only.
    ctx.logger?.info({ auditor: actor.subject, heldSessionId, action, eventId: event.eventId, projected: visible }, 'legal hold changed');
    return { eventId: event.eventId, sessionId: heldSessionId, action, reason, requestedBy: actor.subject, projected: visible };
  }

  app.get('/v1/holds', async () => ({ holds: (await holds()).map(holdView) }));

  app.post<{ Body: { sessionId: string; reason: string } }>('/v1/holds', { schema: { body: HOLD_BODY } }, async (request, reply) => {
    const actor = auditorOf(request.auditor);
    const result = await changeHold(actor, request.body.sessionId, 'add', request.body.reason);
    return reply.code(201).send(result);
  });

  app.delete<{ Params: { sessionId: string }; Body: { reason: string } }>(
    '/v1/holds/:sessionId',
    { schema: RELEASE_SCHEMA },
    async (request, reply) => {
      const actor = auditorOf(request.auditor);
      const sessionId = request.params.sessionId;
      if (!(await holds()).some((h) => h.session_id === sessionId)) {
        // Nothing to lift: a remove record for a session never held would be noise in the log.
        return reply
          .code(404)
          .type(PROBLEM_CONTENT_TYPE)
          .send(problem('AG_ERR_BAD_REQUEST', 'this session is not under legal hold', 404));
      }
      return changeHold(actor, sessionId, 'remove', request.body.reason);
    },
  );

  app.post<{ Body: { olderThanDays?: number; dryRun: boolean } | undefined }>(
    '/v1/retention/apply',
    {
      schema: { body: RETENTION_BODY },
      // Every field has a default: no body at all means the defaults, not a malformed request.
      preValidation: async (request) => {
        request.body ??= { dryRun: false };
      },
    },
    async (request) => {
      const actor = auditorOf(request.auditor);
      const days = request.body?.olderThanDays ?? g.retentionDays;
      const dryRun = request.body?.dryRun === true;
      // One run at a time: two runs would each write a record for the same month.
      const run = retentionQueue.then(() => {
        const cutoffUs = cutoffFor(g.nowUs(), days);
        return applyRetention(
          {
            query: ctx.query,
            dropPartition: g.dropPartition,
            publish: g.publish,
            database: ctx.database,
            producer: g.producer,
            newId: g.newId,
            nowUs: g.nowUs,
            logger: ctx.logger,
          },
          { cutoffUs, dryRun, actor },
        );
      });
      retentionQueue = run.catch(() => undefined);
      const outcome = await run;
      ctx.logger?.info(
        {
          auditor: actor.subject,
          dryRun,
          olderThanDays: days,
          dropped: outcome.partitions.filter((p) => p.action === 'drop').length,
          kept: outcome.partitions.filter((p) => p.action === 'keep').length,
        },
        dryRun ? 'retention planned' : 'retention applied',
      );
      return { olderThanDays: days, cutoff: new Date(Math.floor(outcome.cutoffUs / 1000)).toISOString(), ...outcome };
    },
  );
}
