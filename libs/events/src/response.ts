// A ResponseObserved with every field a protocol does not use at its empty value: each ingress
// names only what its responses carry, and a field added to the contract is defaulted here once.
import type { ResponseObserved, ResponseOutcome } from './types.js';

export type ResponseFields = Partial<Omit<ResponseObserved, 'requestId' | 'outcome' | 'masking'>> & {
  /** Matches per masking key (column rule or detector), recorded as MaskingCount entries. */
  masking?: Readonly<Record<string, number>>;
};

export function responseObserved(requestId: string, outcome: ResponseOutcome, fields: ResponseFields = {}): ResponseObserved {
  const { masking, ...given } = fields;
  // An optional value passed through as undefined keeps its default (Avro has no undefined).
  const rest = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as typeof given;
  return {
    requestId,
    outcome,
    commandTags: [],
    rowCount: 0,
    columns: [],
    durationUs: 0,
    bytes: 0,
    sampleRows: [],
    sampleTruncated: false,
    resultDigest: null,
    errorCode: null,
    errorMessage: null,
    masking: Object.entries(masking ?? {}).map(([key, count]) => ({ key, count })),
    exitStatus: null,
    exitSignal: null,
    streams: [],
    httpStatus: null,
    bodySample: null,
    ...rest,
  };
}
