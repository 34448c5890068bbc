// Builds a policy processor: consumes RequestObserved events, decides each against the
// policy and produces one VerdictIssued per request. Offsets are committed only after the
// verdicts are acknowledged, so a crash re-decides rather than skips; a re-decided verdict
// is byte-identical to the first (the decider takes nothing from this instance or its clock),
// so the duplicate is harmless. The instance id goes to logs and metrics, never into events.
//
// The policy is whatever was last published on the policies topic (the built-in minimal policy
// until then), read before the first decision and swapped without a restart. A shadow policy,
// when published, decides every request too; its verdicts go to the shadow-verdicts topic,
// which no ingress reads, so they are recorded and never enforced.
import type { EachBatchPayload, Kafka, Producer } from 'kafkajs';
import {
  AUDIT_TOPIC_CONFIG,
  type BroadcastConsumer,
  broadcastConsumer,
  POLICY_TOPIC_CONFIG,
  REPLY_TO_HEADER,
  REQUEST_ID_HEADER,
  ensureTopics,
  headerText,
  resilientConsumer,
  type ResilientConsumer,
  type OffsetCommitter,
  catchUpConsumer,
  type CatchUpConsumer,
} from '@agentgate/kafka';
import {
  policyKey,
  type AuditEvent,
  type AuditEventOf,
  type EventSerde,
  type PolicySerde,
  type RequestDetail,
  type TopicNames,
  verdictTopicForProtocol,
  verdictTopics,
} from '@agentgate/events';
import type { AsyncSqlParser, SqlClassification, StatementFacts } from '@agentgate/sql';
import type { Logger } from '@agentgate/observability';
import type { AsyncShellAnalyser } from '@agentgate/shell';
import { type GatewayError, toGatewayError } from '@agentgate/errors';
import type { PolicyProcessorConfig } from './config.js';
import type { PolicyEngine, RequestAnalysis } from './policy-engine.js';
import { policyFeed, type PolicyFeed } from './policy-feed.js';
import { policyHolder } from './policy-holder.js';
import { SessionContexts, type SessionKnowledge } from './session-context.js';
import { asShadowVerdict } from './shadow.js';
import { ApprovalBook } from './approval-book.js';
import { decideApproval, finalVerdict, grantUsedEvent, type Waiter } from './approval-decider.js';
import { readBackWindow } from './usage-window.js';

const MAX_INFLIGHT_SENDS = 64;

export interface PolicyProcessorDeps {
  config: Readonly<PolicyProcessorConfig>;
  kafka: Kafka;
  serde: EventSerde;
  topics: TopicNames;
  parser: AsyncSqlParser;
  /** SSH exec commands are analysed off the event loop: a 4 KiB one takes 90-400 ms. */
  shell: AsyncShellAnalyser;
  engine: PolicyEngine;
  policySerde: PolicySerde;
  logger: Logger;
  /** Microseconds since the epoch; only for the request-to-verdict lag in the metrics. */
  nowUs: () => number;
}

export interface PolicyProcessor {
  start(): Promise<void>;
  stop(): Promise<void>;
  readiness(): Record<string, boolean>;
  metrics(): string;
  /** The versions deciding now, for the admin server's description and readiness. */
  describe(): { livePolicy: string; shadowPolicy: string | null };
}

/** A Prometheus label value. */
const label = (value: string): string => JSON.stringify(value);

export function createPolicyProcessor(deps: PolicyProcessorDeps): PolicyProcessor {
  const { config, kafka, serde, topics, logger, engine } = deps;
  const policies = policyHolder(engine);
  const sessions = new SessionContexts();
  // Sized once the policies in force are read (start), before anything is folded.
  let usage = engine.emptyUsage(0);
  // This instance's partitions of the ingress topic, as the group coordinator last assigned them.
  let ownPartitions: Set<number> | undefined;
  let peerEvents = 0;
  let feed: PolicyFeed | undefined;
  let consumer: ResilientConsumer | undefined;
  let committer: OffsetCommitter | undefined;
  let peers: BroadcastConsumer | undefined;
  let producer: Producer | undefined;
  let decided = 0;
  let shadowDecided = 0;
  let undecodable = 0;
  // Time from a request's record to its verdict being ready to send, summed over all verdicts.
  let lagSumUs = 0;

  // Approvals (approval-book.ts): everything the approvals and approval-decisions topics hold,
  // and the requests of this instance's sessions that wait for theirs.
  const book = new ApprovalBook();
  let approvalFeed: CatchUpConsumer | undefined;
  const waiters = new Map<string, Waiter & { approvalId: string }>();
  // Requests allowed under a grant while their ingress may have stopped waiting: their use is
  // given back if the ingress records that it gave up (ResponseObserved AG_ERR_APPROVAL_PENDING).
  const finalAllowed = new Map<
    string,
    { approvalId: string; verdict: AuditEventOf<'VerdictIssued'>; request: AuditEventOf<'RequestObserved'> }
  >();
  let approvalsRequested = 0;
  let grantsUsed = 0;

  // Verdict writes not yet acknowledged (at most MAX_INFLIGHT_SENDS), and the first that failed.
  const inflight = new Set<Promise<void>>();
  let sendFailure: GatewayError | undefined;

  const longestWindowUs = (): number => Math.max(policies.live.longestWindowUs, policies.shadow?.longestWindowUs ?? 0);

  async function handleBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const verdicts: VerdictsOut = [];
    const shadowVerdicts: { key: string; value: Buffer }[] = [];
    const approvalEvents: { key: string; value: Buffer }[] = [];
    let lastOffset: string | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      lastOffset = message.offset;
      if (message.value) {
        let event: AuditEvent | undefined;
        try {
          event = await serde.decodeSkimmed(message.value);
        } catch (err) {
          undecodable++;
          logger.error(
            { code: toGatewayError(err).code, partition: batch.partition, offset: message.offset },
            'skipping undecodable event',
          );
        }
        let ran: readonly StatementFacts[] = [];
        if (event?.eventType === 'RequestObserved') {
          const { analysis, facts } = await analyseRequest(deps, event.payload.detail, sessions.of(event.sessionId));
          // One reference each, read once: the whole request is decided by one version.
          const { live, shadow } = policies;
          // Usage before this request: the request itself is folded in below.
          let verdict = live.decide(event, analysis, usage);
          // Routing hints for the ingress (routing-headers.ts): who waits, and for which request.
          const replyTo = headerText(message.headers, REPLY_TO_HEADER);
          if (verdict.payload.decision === 'pending_approval') {
            const spec = live.approvalSpec(verdict.payload.ruleId);
            const decision = spec ? decideApproval(event, verdict, spec, book) : undefined;
            if (decision) {
              verdict = decision.verdict;
              for (const e of decision.events) {
                book.apply(e);
                approvalEvents.push({ key: e.payload.approvalId, value: await serde.encode(topics.approvals, e) });
                if (e.eventType === 'ApprovalRequested') approvalsRequested++;
                else grantsUsed++;
              }
              if (decision.waitsOn !== null) {
                waiters.set(event.payload.requestId, { request: event, pending: verdict, replyTo, approvalId: decision.waitsOn });
              }
            }
          }
          if (verdict.payload.decision !== 'deny') ran = facts;
          const headers: Record<string, string> = { [REQUEST_ID_HEADER]: verdict.payload.requestId };
          if (replyTo !== undefined) headers[REPLY_TO_HEADER] = replyTo;
          // To the verdict topic of the ingress that asked: no other ingress fetches it.
          const verdictTopic = verdictTopicForProtocol(topics, event.payload.protocol);
          verdicts.push({ topic: verdictTopic, key: verdict.sessionId, value: await serde.encode(verdictTopic, verdict), headers });
          decided++;
          // Its approval resolved already (deciding again after a restart): the final verdict follows.
          const waiter = waiters.get(event.payload.requestId);
          const resolved = waiter ? book.resolution(waiter.approvalId) : undefined;
          if (waiter && resolved) await answerWaiter(waiter, resolved, verdicts, approvalEvents);
          lagSumUs += Math.max(0, deps.nowUs() - event.timeUs);
          if (shadow) {
            const shadowVerdict = asShadowVerdict(shadow.decide(event, analysis, usage), event);
            shadowVerdicts.push({ key: shadowVerdict.sessionId, value: await serde.encode(topics.shadowVerdicts, shadowVerdict) });
            shadowDecided++;
          }
        }
        if (event) {
          usage = engine.evolveUsage(usage, event);
          sessions.observe(event, ran);
          if (event.eventType === 'ResponseObserved' || event.eventType === 'SessionClosed') await forgetWaiting(event, approvalEvents);
        }
      }
    }
    // The verdicts go out while the partition's next batch is fetched and decided: waiting for
    // each acknowledgement here made every partition a fetch-decide-produce-wait cycle, which
    // capped the rate (docs/benchmarks.md). An ingress obeys only verdicts it reads from the
    // log, so a verdict whose write fails is one no statement ran on: its request times out at
    // the ingress (fail closed), and the failure stops this consumer so that it restarts.
    if (sendFailure) {
      const failure = sendFailure;
      sendFailure = undefined;
      throw failure;
    }
    // Approval requests and grant uses go out with their verdicts; a lost approval request leaves
    // its statement waiting until the ingress gives up (fail closed), a lost use is written
    // again when the request is decided again after the restart this failure causes.
    if (approvalEvents.length > 0) track(producer!.send({ topic: topics.approvals, acks: -1, messages: approvalEvents }));
    if (verdicts.length > 0) sendVerdicts(verdicts);
    if (shadowVerdicts.length > 0) track(producer!.send({ topic: topics.shadowVerdicts, acks: -1, messages: shadowVerdicts }));
    while (inflight.size > MAX_INFLIGHT_SENDS) await Promise.race(inflight);
    if (lastOffset !== undefined) {
      resolveOffset(lastOffset);
      committer?.processed(batch.topic, batch.partition, lastOffset);
    }
    await heartbeat();
  }

  type Outgoing = { key: string; value: Buffer; headers?: Record<string, string> }[];
  /** Verdicts, each with the topic of the ingress that waits for it (verdictTopicForProtocol). */
  type VerdictsOut = (Outgoing[number] & { topic: string })[];

  /** Verdicts, each to its own topic, in one request (sendBatch): their order per session is kept. */
  function sendVerdicts(out: VerdictsOut): void {
    const byTopic = new Map<string, Outgoing>();
    for (const { topic, ...message } of out) {
      const messages = byTopic.get(topic);
      if (messages) messages.push(message);
      else byTopic.set(topic, [message]);
    }
    track(producer!.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) }));
  }

  /** Queues the final verdict of a waiting request whose approval `resolution` settled. */
  async function answerWaiter(
    waiter: Waiter & { approvalId: string },
    resolution: AuditEventOf<'ApprovalResolved'>,
    verdictsOut: VerdictsOut,
    approvalsOut: Outgoing,
  ): Promise<void> {
    const requestId = waiter.request.payload.requestId;
    waiters.delete(requestId);
    const answer = finalVerdict(waiter, resolution, book);
    // An approved grant another waiting request took: this one waits until its ingress gives up.
    if (!answer) return;
    for (const e of answer.events) {
      book.apply(e);
      approvalsOut.push({ key: e.payload.approvalId, value: await serde.encode(topics.approvals, e) });
      grantsUsed++;
      finalAllowed.set(requestId, { approvalId: waiter.approvalId, verdict: answer.verdict, request: waiter.request });
    }
    const headers: Record<string, string> = { [REQUEST_ID_HEADER]: requestId };
    if (waiter.replyTo !== undefined) headers[REPLY_TO_HEADER] = waiter.replyTo;
    const verdictTopic = verdictTopicForProtocol(topics, waiter.request.payload.protocol);
    verdictsOut.push({
      topic: verdictTopic,
      key: answer.verdict.sessionId,
      value: await serde.encode(verdictTopic, answer.verdict),
      headers,
    });
    decided++;
  }

  /** A request's response or its session's end: it no longer waits; an unused grant use is given back. */
  async function forgetWaiting(event: AuditEvent, approvalsOut: Outgoing): Promise<void> {
    if (event.eventType === 'SessionClosed') {
      for (const [id, w] of waiters) if (w.request.sessionId === event.sessionId) waiters.delete(id);
      return;
    }
    if (event.eventType !== 'ResponseObserved') return;
    const requestId = event.payload.requestId;
    waiters.delete(requestId);
    const allowed = finalAllowed.get(requestId);
    if (!allowed) return;
    finalAllowed.delete(requestId);
    // The ingress gave up before the allow reached it: the statement never ran.
    if (event.payload.errorCode === 'AG_ERR_APPROVAL_PENDING') {
      const release = grantUsedEvent(allowed.request, allowed.approvalId, allowed.verdict, true, event.timeUs);
      book.apply(release);
      approvalsOut.push({ key: allowed.approvalId, value: await serde.encode(topics.approvals, release) });
    }
  }

  /** One event of the approvals or approval-decisions topic; outcomes answer waiting requests. */
  async function onApprovalEvent(event: AuditEvent): Promise<void> {
    book.apply(event);
    if (event.eventType !== 'ApprovalResolved') return;
    const waiting = [...waiters.values()].filter((w) => w.approvalId === event.payload.approvalId);
    if (waiting.length === 0) return;
    const verdictsOut: VerdictsOut = [];
    const approvalsOut: Outgoing = [];
    // Oldest first: a one-statement grant goes to the request that asked first.
    waiting.sort((a, b) => a.request.timeUs - b.request.timeUs);
    for (const w of waiting) await answerWaiter(w, event, verdictsOut, approvalsOut);
    if (approvalsOut.length > 0) track(producer!.send({ topic: topics.approvals, acks: -1, messages: approvalsOut }));
    if (verdictsOut.length > 0) sendVerdicts(verdictsOut);
  }

  function track(sent: Promise<unknown>): void {
    const done: Promise<void> = sent.then(
      () => {
        inflight.delete(done);
      },
      (err: unknown) => {
        inflight.delete(done);
        sendFailure ??= toGatewayError(err);
        logger.error({ code: sendFailure.code }, 'verdict write failed; the consumer restarts');
      },
    );
    inflight.add(done);
  }

  return {
    async start() {
      const admin = kafka.admin();
      await admin.connect();
      try {
        await ensureTopics(admin, [
          { topic: topics.ingress, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG },
          ...verdictTopics(topics).map((topic) => ({ topic, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG })),
          { topic: topics.shadowVerdicts, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG },
          { topic: topics.approvals, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG },
          { topic: topics.approvalDecisions, numPartitions: 6, configs: AUDIT_TOPIC_CONFIG },
          { topic: topics.policies, numPartitions: 1, configs: POLICY_TOPIC_CONFIG },
        ]);
      } finally {
        await admin.disconnect();
      }
      // The policy in force first: nothing is decided before everything published is read.
      feed = policyFeed({
        kafka,
        serde: deps.policySerde,
        topic: topics.policies,
        groupPrefix: `${config.consumerGroup}-policies`,
        logger,
        onPublication(publication, offset) {
          const outcome = policies.apply(publication, BigInt(offset));
          // A longer window published later counts from the events read since (the next start
          // reads it back in full).
          if (outcome.applied && longestWindowUs() > usage.retentionUs) usage = { ...usage, retentionUs: longestWindowUs() };
          const fields = { offset, version: publication.version, shadow: publication.shadow, publishedBy: publication.publishedBy };
          if (outcome.applied) logger.info({ ...fields, role: outcome.role }, 'policy version installed');
          else
            logger.error(
              { ...fields, code: outcome.code, reason: outcome.reason },
              'policy publication ignored; the previous policy stays',
            );
        },
        onTombstone(key, offset) {
          const shadow = key.endsWith('/shadow');
          const name = shadow ? key.slice(0, -'/shadow'.length) : key;
          if (policyKey(name, shadow) === key && policies.withdraw(name, shadow)) {
            logger.info({ offset, policy: name, shadow, live: policies.live.version }, 'policy withdrawn');
          }
        },
      });
      await feed.start();
      const windowUs = longestWindowUs();
      // History is kept for the longest window only: evolving the usage costs what it keeps.
      usage = engine.emptyUsage(windowUs);
      if (windowUs > 0) {
        const folded = await readBackWindow({
          kafka,
          serde,
          topic: topics.ingress,
          groupId: config.consumerGroup,
          sinceMs: Math.floor((deps.nowUs() - windowUs) / 1000),
          logger,
          onEvent: (event) => {
            usage = engine.evolveUsage(usage, event);
          },
        });
        logger.info({ folded, windowSeconds: windowUs / 1e6 }, 'guardrail window read back from the log');
      }
      producer = kafka.producer({ allowAutoTopicCreation: false });
      await producer.connect();
      // Every approval and grant before the first decision: a grant used before this start must
      // not be used again, and a pending approval is joined rather than asked for twice.
      approvalFeed = catchUpConsumer({
        kafka,
        topics: [topics.approvals, topics.approvalDecisions],
        groupPrefix: `${config.consumerGroup}-approvals`,
        logger,
        what: 'the approvals',
        async onMessage(topic, partition, message) {
          if (!message.value) return;
          try {
            await onApprovalEvent((await serde.decode(message.value)).event);
          } catch (err) {
            undecodable++;
            logger.error(
              { code: toGatewayError(err).code, topic, partition, offset: message.offset },
              'skipping undecodable approval event',
            );
          }
        },
      });
      await approvalFeed.start();
      consumer = resilientConsumer({
        kafka,
        logger,
        config: {
          groupId: config.consumerGroup,
          maxWaitTimeInMs: config.kafkaFetchMaxWaitMs,
          sessionTimeout: 10_000,
          heartbeatInterval: 1000,
        },
        // Offsets are committed every 500 ms off the fetch path (offset-committer.ts): a commit
        // after each batch put a broker round trip before every next fetch. A restart re-decides
        // at most that much; an ingress takes the first authentic verdict and ignores the rest.
        commitIntervalMs: 500,
        async setup(c, progress) {
          committer = progress;
          c.on(c.events.GROUP_JOIN, (e) => {
            ownPartitions = new Set(e.payload.memberAssignment[topics.ingress] ?? []);
          });
          await c.subscribe({ topic: topics.ingress, fromBeginning: true });
          // Partitions are decided in parallel (sessions are keyed, so each stays in order); a
          // batch counts as processed once it is decided and its verdicts handed to the producer
          // (see handleBatch for why verdicts are not awaited there).
          await c.run({
            autoCommit: false,
            eachBatchAutoResolve: false,
            partitionsConsumedConcurrently: 6,
            eachBatch: handleBatch,
          });
        },
      });
      // Guardrail counts cover every session, not only those on this instance's partitions: the
      // other partitions' events are folded from a feed of the whole topic. Across a rebalance a
      // partition's last events may be counted twice (stricter), never skipped.
      peers = broadcastConsumer({
        kafka,
        topic: topics.ingress,
        groupId: `${config.consumerGroup}-peers-${config.instanceId.replace(/[^\w.-]/g, '_')}`,
        logger,
        partitionsConsumedConcurrently: 6,
        async onMessage(value, offset, _headers, partition) {
          // Before the first assignment every partition may turn out to be this instance's own.
          if (ownPartitions === undefined || ownPartitions.has(partition) || longestWindowUs() === 0) return;
          try {
            usage = engine.evolveUsage(usage, await serde.decodeSkimmed(value));
            peerEvents++;
          } catch (err) {
            logger.error({ code: toGatewayError(err).code, partition, offset }, 'skipping undecodable event (peer usage)');
          }
        },
      });
      await peers.start();
      await consumer.start();
    },
    async stop() {
      await consumer?.stop();
      await Promise.allSettled(inflight);
      await peers?.stop();
      await approvalFeed?.stop();
      await feed?.stop();
      await producer?.disconnect().catch(() => {});
    },
    // Readiness checks are booleans; the versions deciding are named in the checks' keys.
    readiness: () => ({
      consumerJoined: consumer?.ready ?? false,
      policiesRead: feed?.ready ?? false,
      approvalsRead: approvalFeed?.ready ?? false,
      [`livePolicy=${policies.live.version}`]: true,
      ...(policies.shadow ? { [`shadowPolicy=${policies.shadow.version}`]: true } : {}),
    }),
    describe: () => ({ livePolicy: policies.live.version, shadowPolicy: policies.shadow?.version ?? null }),
    metrics: () =>
      `# TYPE agentgate_policy_info gauge\n` +
      `agentgate_policy_info{instance=${label(config.instanceId)},version=${label(policies.live.version)},shadow="false"} 1\n` +
      (policies.shadow
        ? `agentgate_policy_info{instance=${label(config.instanceId)},version=${label(policies.shadow.version)},shadow="true"} 1\n`
        : '') +
      `# TYPE agentgate_policy_publications_rejected_total counter\nagentgate_policy_publications_rejected_total ${policies.rejected + (feed?.undecodable ?? 0)}\n` +
      `# TYPE agentgate_policy_verdicts_total counter\nagentgate_policy_verdicts_total ${decided}\n` +
      `# TYPE agentgate_policy_peer_usage_events_total counter\nagentgate_policy_peer_usage_events_total ${peerEvents}\n` +
      `# TYPE agentgate_policy_shadow_verdicts_total counter\nagentgate_policy_shadow_verdicts_total ${shadowDecided}\n` +
      `# TYPE agentgate_approvals_requested_total counter\nagentgate_approvals_requested_total ${approvalsRequested}\n` +
      `# TYPE agentgate_approval_grant_uses_total counter\nagentgate_approval_grant_uses_total ${grantsUsed}\n` +
      `# TYPE agentgate_approvals_waiting gauge\nagentgate_approvals_waiting ${waiters.size}\n` +
      `# TYPE agentgate_policy_undecodable_total counter\nagentgate_policy_undecodable_total ${undecodable}\n` +
      `# TYPE agentgate_policy_request_to_verdict_seconds summary\n` +
      `agentgate_policy_request_to_verdict_seconds_sum ${lagSumUs / 1e6}\nagentgate_policy_request_to_verdict_seconds_count ${decided}\n`,
  };
}

type Analysed = { analysis: RequestAnalysis; facts: StatementFacts[] };

const NOT_SQL = { statementKind: 'NOT_SQL', statementKinds: [] };

const factsOf = (c: SqlClassification): StatementFacts[] | 'unparseable' => (c.ok ? c.statements.map((s) => s.facts) : 'unparseable');

/**
 * What the policy decides on: the statement kinds (the built-in policy) and each statement's facts
 * (compiled policies). A statement longer than the audit cap is recorded as a prefix with its full
 * length and SHA-256 (fullTextBytes): the prefix cannot be parsed, so the kinds the ingress read
 * from the whole statement, recorded in the same hashed event, are all there is; a compiled policy
 * sees it as unparseable (fail closed). EXECUTE and FETCH are decided on what they run too: the
 * PREPARE or DECLARE behind them.
 */
async function analyseRequest(
  { parser, shell: analyser }: Pick<PolicyProcessorDeps, 'parser' | 'shell'>,
  detail: RequestDetail,
  session: SessionKnowledge,
): Promise<Analysed> {
  if (detail.kind === 'ssh') {
    // An exec is decided on what its command runs, as the target's shell would read it.
    const shell = detail.channel === 'exec' ? await analyser.analyse(detail.command ?? '') : undefined;
    return { analysis: { classification: NOT_SQL, ...(shell ? { shell } : {}) }, facts: [] };
  }
  if (detail.kind !== 'sql') return { analysis: { classification: NOT_SQL }, facts: [] };
  const capped = detail.fullTextBytes !== null;
  const own = capped ? undefined : await parser.classify(detail.text);
  const ownKinds = own ?? { statementKind: detail.statementKind, statementKinds: [...detail.statementKinds] };
  const resolved =
    detail.resolvedText === null || detail.resolvedText === undefined ? undefined : await parser.classify(detail.resolvedText);
  const statements = own ? factsOf(own) : 'unparseable';
  const resolvedFacts = resolved ? factsOf(resolved) : null;
  const classification = {
    statementKind: ownKinds.statementKind,
    statementKinds: resolved ? [...new Set([...ownKinds.statementKinds, ...resolved.statementKinds])] : [...ownKinds.statementKinds],
  };
  return {
    analysis: {
      classification,
      sql: {
        statements,
        resolved: resolvedFacts,
        searchPathKnown: session.searchPathKnown,
        sessionUser: session.sessionUser,
      },
    },
    facts: [
      ...(statements === 'unparseable' ? [] : statements),
      ...(resolvedFacts === null || resolvedFacts === 'unparseable' ? [] : resolvedFacts),
    ],
  };
}
