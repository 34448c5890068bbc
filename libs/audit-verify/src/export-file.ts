// The offline export: JSON Lines, a header line, then one line per agentgate.events row
// (checkpoint rows included), exactly as ClickHouse returned it. Verifying an export is
// verifyAudit on its rows, so an auditor needs the file and the public keys, not the stack.
//
//   line 1   {"format":"agentgate-audit-export","version":1,"since":..,"until":..,"exportedAt":..,"rows":<n>}
//   line 2.. one JSON object per row: event_id, event_type, session_id, seq, time_us, prev_hash,
//            hash, canonical_text and every other column of the row
//
// Parsing refuses anything else (AG_ERR_EXPORT_INVALID, naming the line): a file that is not
// what it claims must not verify as an empty, clean log. Tampered contents parse, and are
// what verifyAudit names.
import { GatewayError } from '@agentgate/errors';
import type { StoredEventRow } from './verify.js';

export const EXPORT_FORMAT = 'agentgate-audit-export';
export const EXPORT_VERSION = 1;

export interface ExportHeader {
  format: typeof EXPORT_FORMAT;
  version: typeof EXPORT_VERSION;
  /** ISO time the export's scope starts at, or null for everything. */
  since: string | null;
  /** ISO time the scope ends at, or null for "when exported". */
  until: string | null;
  exportedAt: string;
  /** How many row lines follow (a cut file is refused). */
  rows: number;
}

export interface ExportInput {
  since: string | null;
  until: string | null;
  exportedAt: string;
  rows: readonly StoredEventRow[];
}

/** The export's lines (header first), each ending in a newline: write them one by one, an export can outgrow one string. */
export function* exportLines(input: ExportInput): Generator<string> {
  const header: ExportHeader = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    since: input.since,
    until: input.until,
    exportedAt: input.exportedAt,
    rows: input.rows.length,
  };
  yield `${JSON.stringify(header)}\n`;
  for (const row of input.rows) yield `${JSON.stringify(row)}\n`;
}

/** The export file's text: header line, then one line per row, each ending in a newline. */
export function serializeExport(input: ExportInput): string {
  return [...exportLines(input)].join('');
}

function invalid(line: number, why: string): GatewayError {
  return new GatewayError('AG_ERR_EXPORT_INVALID', `export line ${line}: ${why}`);
}

function parseLine(text: string, line: number): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(line, 'not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(line, 'not a JSON object');
  return value as Record<string, unknown>;
}

const STRING_FIELDS = ['event_id', 'event_type', 'session_id', 'prev_hash', 'hash', 'canonical_text'] as const;
const UINT_FIELDS = ['seq', 'time_us'] as const;

function isUInt(value: unknown): boolean {
  return (
    (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) || (typeof value === 'string' && /^\d{1,20}$/.test(value))
  );
}

function isTimeOrNull(value: unknown): boolean {
  return value === null || (typeof value === 'string' && Number.isFinite(Date.parse(value)));
}

function parseHeader(text: string): ExportHeader {
  const h = parseLine(text, 1);
  if (h['format'] !== EXPORT_FORMAT) throw invalid(1, `not an ${EXPORT_FORMAT} header`);
  if (h['version'] !== EXPORT_VERSION) throw invalid(1, `unsupported version ${JSON.stringify(h['version'])}`);
  if (!isTimeOrNull(h['since']) || !isTimeOrNull(h['until'])) throw invalid(1, 'since and until must be ISO times or null');
  if (typeof h['exportedAt'] !== 'string' || !Number.isFinite(Date.parse(h['exportedAt'])))
    throw invalid(1, 'exportedAt must be an ISO time');
  if (typeof h['rows'] !== 'number' || !Number.isSafeInteger(h['rows']) || h['rows'] < 0) throw invalid(1, 'rows must be a count');
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    since: h['since'] as string | null,
    until: h['until'] as string | null,
    exportedAt: h['exportedAt'],
    rows: h['rows'],
  };
}

/** An incremental reader of an export: feed it the file's lines (without their newline), then `end()`. */
export interface ExportReader {
  line(text: string): void;
  /** The header and rows; throws AG_ERR_EXPORT_INVALID when the file was empty or cut. */
  end(): { header: ExportHeader; rows: StoredEventRow[] };
}

/** Reads an export line by line, so a file larger than one string can be verified. */
export function createExportReader(): ExportReader {
  let header: ExportHeader | undefined;
  const rows: StoredEventRow[] = [];
  let lineNo = 0;
  return {
    line(text: string): void {
      lineNo += 1;
      if (header === undefined) {
        header = parseHeader(text);
        return;
      }
      const row = parseLine(text, lineNo);
      for (const field of STRING_FIELDS) {
        if (typeof row[field] !== 'string') throw invalid(lineNo, `${field} must be a string`);
      }
      for (const field of UINT_FIELDS) {
        if (!isUInt(row[field])) throw invalid(lineNo, `${field} must be an unsigned integer`);
      }
      rows.push(row as StoredEventRow);
    },
    end() {
      if (header === undefined) throw invalid(1, 'the file is empty');
      if (rows.length !== header.rows) throw invalid(lineNo, `the header announces ${header.rows} rows, the file holds ${rows.length}`);
      return { header, rows };
    },
  };
}

/** Parses an export file's text; throws AG_ERR_EXPORT_INVALID naming the first malformed line. */
export function parseExport(text: string): { header: ExportHeader; rows: StoredEventRow[] } {
  const lines = text.split('\n');
  // One trailing newline ends the last line; anything else blank is malformed.
  if (lines.at(-1) === '') lines.pop();
  const reader = createExportReader();
  for (const line of lines) reader.line(line);
  return reader.end();
}
