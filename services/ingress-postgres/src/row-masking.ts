// Masking of result rows as they stream to the agent (pure: no socket, no catalog I/O).
//
// Wire facts:
//   RowDescription 'T': Int16 n, then per column: name, Int32 table OID (0 = computed), Int16
//     attribute number, Int32 type OID, Int16 size, Int32 modifier, Int16 format code. The format
//     code is only known once the portal is bound: after a Describe of a *statement* it is 0, and
//     the Bind's result format codes decide (none = all text, one = all columns, else per column).
//   DataRow 'D': Int32 length, Int16 n, then per column Int32 length (-1 = NULL) and the bytes.
//   In binary format the text-like types (text, varchar, bpchar, name, json, xml, unknown) send
//   exactly the UTF-8 bytes of their text form, so they mask as text does.
import { isUtf8 } from 'node:buffer';
import { GatewayError } from '@agentgate/errors';
import { type CellMasker, type CellMaskResult, type CompiledPlan, type MaskingTally, partialMaskAsciiInPlace } from '@agentgate/masking';

/** One result column as RowDescription reports it, with the format its rows arrive in. */
export interface ResultColumn {
  name: string;
  tableOid: number;
  columnAttr: number;
  typeOid: number;
  /** 0 text, 1 binary (from the Bind, see the wire facts above). */
  format: number;
}

/** A table's schema, name and column names by attribute number, from the target's catalog. */
export interface RelationInfo {
  schema: string;
  table: string;
  columns: ReadonlyMap<number, string>;
}

/** Names of built-in types that rules may name (pg_type.typname by OID). */
const BUILTIN_TYPES: ReadonlyMap<number, string> = new Map([
  [16, 'bool'],
  [17, 'bytea'],
  [18, 'char'],
  [19, 'name'],
  [20, 'int8'],
  [21, 'int2'],
  [23, 'int4'],
  [25, 'text'],
  [26, 'oid'],
  [114, 'json'],
  [142, 'xml'],
  [650, 'cidr'],
  [700, 'float4'],
  [701, 'float8'],
  [705, 'unknown'],
  [869, 'inet'],
  [1042, 'bpchar'],
  [1043, 'varchar'],
  [1082, 'date'],
  [1083, 'time'],
  [1114, 'timestamp'],
  [1184, 'timestamptz'],
  [1700, 'numeric'],
  [2950, 'uuid'],
  [3802, 'jsonb'],
]);

/** Types whose binary form is their text form in UTF-8. */
const TEXT_LIKE_BINARY = new Set([19, 25, 114, 142, 705, 1042, 1043]);

/** The masking of one result: per column what to do, undefined where cells pass untouched. */
export interface RowMasking {
  readonly maskers: readonly (CellMasker | undefined)[];
  /** True when no column needs any work: rows pass as they are. */
  readonly passThrough: boolean;
}

/**
 * Plans the masking of a result. Columns that come from a table are named from the catalog
 * (`relationOf` must know every non-zero table OID of the description: an unknown one fails,
 * closed, rather than let a column rule miss); computed columns go by their output name, with
 * the plan's detectors. A binary column that the plan masks is refused unless its binary form
 * is text (AG_ERR_MASKING_UNSUPPORTED): it is never passed through raw. Binary columns of other
 * types are not scanned by detectors (they carry numbers, times, bytes), which is a documented
 * limit; column rules on them refuse.
 */
export function planRowMasking(
  columns: readonly ResultColumn[],
  connection: string,
  plan: CompiledPlan,
  relationOf: (tableOid: number) => RelationInfo | undefined,
): RowMasking {
  const maskers: (CellMasker | undefined)[] = [];
  let passThrough = true;
  for (const c of columns) {
    let schema: string | undefined;
    let table: string | undefined;
    let column = c.name;
    if (c.tableOid !== 0) {
      const relation = relationOf(c.tableOid);
      const name = relation?.columns.get(c.columnAttr);
      if (!relation || name === undefined) {
        throw new GatewayError(
          'AG_ERR_MASKING_UNSUPPORTED',
          `result column "${c.name}" comes from a table the gateway could not name (OID ${c.tableOid}), so its masking cannot be decided`,
        );
      }
      schema = relation.schema;
      table = relation.table;
      column = name;
    }
    const typeName = BUILTIN_TYPES.get(c.typeOid);
    const masker = plan.forColumn({
      connection,
      ...(schema === undefined ? {} : { schema, table }),
      column,
      ...(typeName === undefined ? {} : { typeName }),
      typeOid: c.typeOid,
    });
    if (masker.kind === 'keep' || (c.format === 1 && !TEXT_LIKE_BINARY.has(c.typeOid) && masker.kind === 'detect')) {
      maskers.push(undefined);
      continue;
    }
    if (c.format === 1 && !TEXT_LIKE_BINARY.has(c.typeOid)) {
      throw new GatewayError(
        'AG_ERR_MASKING_UNSUPPORTED',
        `column "${c.name}" is masked by policy and was asked for in binary format, which the gateway does not mask for type OID ${c.typeOid}; ask for it in text format`,
      );
    }
    maskers.push(masker);
    passThrough = false;
  }
  return { maskers, passThrough };
}

const UNDECODABLE = '[REDACTED:undecodable]';

function ignoresValue(masker: CellMasker): boolean {
  return masker.kind === 'column' && (masker.strategy.kind === 'redact' || masker.strategy.kind === 'null');
}

/** A cell that `partialMaskAsciiInPlace` masks once it is copied into the new frame. */
class PartialInPlace {
  constructor(readonly keep: number | undefined) {}
}

// One per number of characters kept: a cell's replacement is then not an allocation.
const partialsByKeep = new Map<number | undefined, PartialInPlace>();

function partialInPlace(keep: number | undefined): PartialInPlace {
  let p = partialsByKeep.get(keep);
  if (p === undefined) {
    p = new PartialInPlace(keep);
    partialsByKeep.set(keep, p);
  }
  return p;
}

/** What replaces the cell at frame[from, to): text, SQL NULL, a partial mask; undefined when it stays. */
function maskCellOf(
  frame: Buffer,
  from: number,
  to: number,
  masker: CellMasker,
  plan: CompiledPlan,
  tally: MaskingTally | undefined,
): string | PartialInPlace | null | undefined {
  // Partial masking of ASCII keeps the length and works on the bytes: nothing to decode.
  if (masker.kind === 'column' && masker.strategy.kind === 'partial' && isAscii(frame, from, to)) {
    tally?.record(masker, MASKED_BY_COLUMN);
    return partialInPlace(masker.strategy.keep);
  }
  if (masker.kind === 'detect') {
    // Most free-text cells (names, numbers, dates) cannot hold what the detectors look for,
    // which their bytes' profile tells without decoding them; the profile is not computed twice.
    const profile = plan.detectionProfile(frame, from, to);
    if (profile === undefined) return undefined;
    const text = frame.toString('utf8', from, to);
    if (profile < 0 && isUndecodable(text, frame, from, to)) return UNDECODABLE;
    const result = plan.maskText(text, profile < 0 ? undefined : profile);
    if (result.fired.length === 0) return undefined;
    tally?.record(masker, { value: result.text, masked: true, fired: result.fired });
    return result.text;
  }
  // A whole-cell redact or null does not read the value: it is not decoded.
  const text = ignoresValue(masker) ? '' : frame.toString('utf8', from, to);
  if (isUndecodable(text, frame, from, to)) return UNDECODABLE;
  const result = plan.maskCell(masker, text);
  tally?.record(masker, result);
  return result.masked ? result.value : undefined;
}

// U+FFFD stands in for bytes that are not UTF-8 (a SQL_ASCII database, raw bytes): what a
// detector cannot read is not passed. A genuine U+FFFD is told apart by the check.
function isUndecodable(text: string, frame: Buffer, from: number, to: number): boolean {
  return text.includes('\uFFFD') && !isUtf8(frame.subarray(from, to));
}

const MASKED_BY_COLUMN: CellMaskResult = Object.freeze({ value: null, masked: true, fired: Object.freeze([]) });

function isAscii(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i]! > 127) return false;
  return true;
}

// Buffer's copy and write cost a native call each (tens of nanoseconds) whatever the size,
// and a row is mostly short cells: below this many bytes a loop is faster.
const SHORT = 64;

/** Copies src[from, to) to dst at `at`; returns the number of bytes copied. */
function copyBytes(src: Buffer, from: number, to: number, dst: Buffer, at: number): number {
  const n = to - from;
  if (n > SHORT) return src.copy(dst, at, from, to);
  for (let k = 0; k < n; k++) dst[at + k] = src[from + k]!;
  return n;
}

/** The UTF-8 length of `s`. */
function utf8Length(s: string): number {
  const n = s.length;
  if (n > SHORT) return Buffer.byteLength(s, 'utf8');
  for (let k = 0; k < n; k++) if (s.charCodeAt(k) > 127) return Buffer.byteLength(s, 'utf8');
  return n;
}

/** Writes `s` as UTF-8 to dst at `at` (room for utf8Length(s) bytes); returns the number of bytes written. */
function writeUtf8(s: string, dst: Buffer, at: number): number {
  const n = s.length;
  if (n > SHORT) return dst.write(s, at, 'utf8');
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c > 127) return dst.write(s, at, 'utf8');
    dst[at + k] = c;
  }
  return n;
}

// The cells a row replaces, in order: where each starts (its length word) and ends, and what
// replaces it. Reused from row to row (maskDataRow runs to its end before it is called again):
// a row then costs no allocation but its new frame.
const replacedStarts: number[] = [];
const replacedEnds: number[] = [];
const replacedValues: (string | PartialInPlace | null)[] = [];

/**
 * Masks one DataRow frame. Returns the same Buffer when nothing changed (the common case), else
 * a new frame written in one allocation. `tally` counts every masked cell by column rule and
 * detector.
 */
export function maskDataRow(frame: Buffer, masking: RowMasking, plan: CompiledPlan, tally?: MaskingTally): Buffer {
  if (masking.passThrough) return frame;
  const count = frame.readInt16BE(5);
  if (count !== masking.maskers.length) {
    throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `DataRow has ${count} columns, RowDescription had ${masking.maskers.length}`);
  }
  let offset = 7;
  let replaced = 0;
  let grow = 0;
  for (let i = 0; i < count; i++) {
    const start = offset;
    const length = frame.readInt32BE(offset);
    offset += 4;
    if (length < 0) continue;
    const end = offset + length;
    const masker = masking.maskers[i];
    if (masker !== undefined) {
      const value = maskCellOf(frame, offset, end, masker, plan, tally);
      if (value !== undefined) {
        replacedStarts[replaced] = start;
        replacedEnds[replaced] = end;
        replacedValues[replaced] = value;
        replaced++;
        if (value === null) grow -= length;
        else if (typeof value === 'string') grow += utf8Length(value) - length;
      }
    }
    offset = end;
  }
  if (replaced === 0) return frame;
  const out = Buffer.allocUnsafe(frame.length + grow);
  let at = 0;
  let pos = 0;
  for (let r = 0; r < replaced; r++) {
    const start = replacedStarts[r]!;
    const end = replacedEnds[r]!;
    const value = replacedValues[r]!;
    // Strings are not kept past the row they replace.
    replacedValues[r] = null;
    pos += copyBytes(frame, at, start, out, pos);
    if (value === null) {
      out.writeInt32BE(-1, pos);
      pos += 4;
    } else if (typeof value === 'string') {
      const written = writeUtf8(value, out, pos + 4);
      out.writeInt32BE(written, pos);
      pos += 4 + written;
    } else {
      // The length word and the bytes as they came, then masked where they now are.
      const copied = copyBytes(frame, start, end, out, pos);
      partialMaskAsciiInPlace(out, pos + 4, pos + copied, value.keep);
      pos += copied;
    }
    at = end;
  }
  pos += copyBytes(frame, at, frame.length, out, pos);
  out.writeInt32BE(pos - 1, 1);
  return pos === out.length ? out : out.subarray(0, pos);
}
