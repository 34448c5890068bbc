// Sample events for tests of this package and its dependants (exported as `sampleSession`).
import { GENESIS, chainEvent, nextLink } from './hash-chain.js';
import type { Actor, AuditEvent, SqlRequest, UnchainedEvent } from './types.js';

const actor: Actor = {
  subject: 'demo-agent',
  issuer: 'unverified:startup',
  groups: ['agents'],
  actChain: [{ subject: 'dave', issuer: null, clientId: null }],
  tokenId: null,
  authMethod: 'none',
};

/** A complete, chained session: opened, request, verdict, response, closed. */
export function sampleSession(sessionId = '0b8a3f0e-7c1e-4a53-9a53-3f1c9b1d2e01', t0 = 1_795_000_000_000_000): AuditEvent[] {
  const base = { sessionId, producer: 'test/host/1', traceId: null, actor };
  const requestId = '1c9e7a52-2f0b-4d0e-8a43-6e5b2d7c9f10';
  const unchained: UnchainedEvent[] = [
    {
      ...base,
      eventId: '5f2c1d9e-0000-4000-8000-000000000001',
      timeUs: t0,
      eventType: 'SessionOpened',
      payload: {
        protocol: 'postgres',
        connection: 'demo',
        targetHost: '127.0.0.1',
        targetPort: 25432,
        targetDatabase: 'demo',
        clientAddress: '127.0.0.1',
        clientPort: 50000,
        clientTls: false,
        clientApplication: 'psql',
        ingressInstance: 'ingress-1',
        startupParameters: [{ name: 'application_name', value: 'psql' }],
        targetUser: 'agentgate_demo_rw',
      },
    },
    {
      ...base,
      eventId: requestId,
      timeUs: t0 + 10,
      eventType: 'RequestObserved',
      payload: {
        requestId,
        protocol: 'postgres',
        connection: 'demo',
        detail: sqlDetail("select 'ünïcödé', 1", { parameters: [null, 'x'] }),
      },
    },
    {
      ...base,
      eventId: '5f2c1d9e-0000-4000-8000-000000000003',
      timeUs: t0 + 20,
      eventType: 'VerdictIssued',
      producer: 'policy/host/2',
      payload: {
        requestId,
        decision: 'allow',
        policyVersion: 'minimal-1',
        ruleId: null,
        reason: 'default allow',
        errorCode: null,
        maskingPlan: [],
        approvalId: null,
        statementDigest: null,
        shadow: false,
        requestTimeUs: t0 + 10,
        visibleTools: [],
      },
    },
    {
      ...base,
      eventId: '5f2c1d9e-0000-4000-8000-000000000004',
      timeUs: t0 + 30,
      eventType: 'ResponseObserved',
      payload: {
        requestId,
        outcome: 'ok',
        commandTags: ['SELECT 1'],
        rowCount: 1,
        columns: [{ name: '?column?', typeOid: 25 }],
        durationUs: 5,
        bytes: 40,
        sampleRows: [],
        sampleTruncated: false,
        masking: [],
        resultDigest: 'ab'.repeat(32),
        errorCode: null,
        errorMessage: null,
        exitStatus: null,
        exitSignal: null,
        streams: [],
        httpStatus: null,
        bodySample: null,
      },
    },
    {
      ...base,
      eventId: '5f2c1d9e-0000-4000-8000-000000000005',
      timeUs: t0 + 40,
      eventType: 'SessionClosed',
      payload: { reason: 'client-terminate', errorCode: null, durationUs: 40, requestCount: 1 },
    },
  ];
  const events: AuditEvent[] = [];
  let link = GENESIS;
  for (const e of unchained) {
    const chained = chainEvent(e, link);
    events.push(chained as AuditEvent);
    link = nextLink(chained);
  }
  return events;
}

/** A simple-protocol SELECT's request detail, as the ingress records one; `overrides` changes any field. */
export function sqlDetail(text: string, overrides: Partial<Omit<SqlRequest, 'kind'>> = {}): SqlRequest {
  return {
    kind: 'sql',
    text,
    textMasked: false,
    statementKind: 'SelectStmt',
    statementKinds: ['SelectStmt'],
    fingerprint: null,
    messageFlow: 'simple',
    preparedName: null,
    parameters: [],
    fullTextBytes: null,
    fullTextSha256: null,
    resolvedText: null,
    statementDigest: null,
    ...overrides,
  };
}
