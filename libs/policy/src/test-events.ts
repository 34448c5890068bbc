// Audit events for the usage and decider tests (not exported from the package).
import { sqlDetail, type AuditEventOf } from '@agentgate/events';

export const actor = {
  subject: 'alice',
  issuer: 'i',
  groups: ['agents'],
  actChain: [{ subject: 'bot', issuer: null, clientId: null }],
  tokenId: null,
  authMethod: 'jwt',
};

export function requestEvent(requestId: string, timeUs: number, connection = 'demo', who = actor): AuditEventOf<'RequestObserved'> {
  return {
    eventId: requestId,
    sessionId: 's',
    seq: 1,
    timeUs,
    producer: 'p',
    prevHash: null,
    hash: 'h',
    traceId: null,
    actor: who,
    eventType: 'RequestObserved',
    payload: {
      requestId,
      protocol: 'postgres',
      connection,
      detail: sqlDetail('select 1'),
    },
  };
}

export function responseEvent(requestId: string, timeUs: number, commandTags: string[], rowCount = 0): AuditEventOf<'ResponseObserved'> {
  return {
    eventId: `${requestId}-r`,
    sessionId: 's',
    seq: 2,
    timeUs,
    producer: 'p',
    prevHash: null,
    hash: 'h',
    traceId: null,
    actor,
    eventType: 'ResponseObserved',
    payload: {
      requestId,
      outcome: 'ok',
      commandTags,
      rowCount,
      columns: [],
      durationUs: 1,
      bytes: 1,
      sampleRows: [],
      sampleTruncated: false,
      masking: [],
      resultDigest: null,
      errorCode: null,
      errorMessage: null,
      exitStatus: null,
      exitSignal: null,
      streams: [],
      httpStatus: null,
      bodySample: null,
    },
  };
}
