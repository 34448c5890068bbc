// A registry code as an RFC 9457 problem document, for the HTTP edges (the approval service,
// the audit API). Which status a code gets stays with each edge: that is protocol mapping.
import { ERROR_CODES, type ErrorCode } from './codes.js';

/** The media type of a problem document. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An RFC 9457 problem document carrying the stable code. */
export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
}

/** The problem document of `code` with `status`; the title is the code's summary, the detail defaults to it. */
export function problemDocument(code: ErrorCode, status: number, detail?: string): ProblemDocument {
  const { summary } = ERROR_CODES[code];
  return { type: `https://agentgate.dev/errors/${code}`, title: summary, status, detail: detail ?? summary, code };
}
