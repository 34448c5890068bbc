// Backend messages the gateway reads from an upstream server, from "Message Formats":
//   Authentication* (B)     Byte1('R') Int32 len Int32 code, then per code:
//                           0 Ok, 3 CleartextPassword, 5 MD5Password Byte4 salt,
//                           10 SASL (String mechanism)... Byte1('\0'), 11 SASLContinue Byte(n),
//                           12 SASLFinal Byte(n); 2, 7, 8, 9 are Kerberos/GSS/SSPI
//   BackendKeyData (B)      Byte1('K') Int32(12) Int32 process ID Int32 secret key
//   ReadyForQuery (B)       Byte1('Z') Int32(5) Byte1 'I' | 'T' | 'E'
//   CommandComplete (B)     Byte1('C') Int32 len String tag
//   ErrorResponse (B), NoticeResponse (B)
//                           Byte1('E' | 'N') Int32 len, (Byte1 field code, String value)...,
//                           Byte1('\0'); S, C and M are always present
//   RowDescription (B)      Byte1('T') Int32 len Int16 n, n x (String name, Int32 table OID,
//                           Int16 column attribute, Int32 type OID, Int16 type size,
//                           Int32 type modifier, Int16 format code)
//   DataRow (B)             Byte1('D') Int32 len Int16 n, n x (Int32 length | -1, Byte(n))
// Each decoder takes a whole frame as BackendFramer emits it and throws
// AG_ERR_PROTOCOL_VIOLATION on anything else.
import type { TransactionStatus } from './backend-messages.js';
import { ByteReader } from './byte-reader.js';
import { protocolViolation } from './protocol-error.js';

/** Fields of a decoded ErrorResponse or NoticeResponse; other fields keep their one-letter code as key. */
export interface DecodedErrorFields {
  /** The non-localized 'V' severity when present, else the possibly localized 'S'. */
  severity: string;
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  [field: string]: string | undefined;
}

/** A decoded Authentication* request. */
export type AuthenticationRequest =
  | { kind: 'ok' | 'cleartext' }
  | { kind: 'md5'; salt: Buffer }
  | { kind: 'sasl'; mechanisms: string[] }
  | { kind: 'sasl-continue' | 'sasl-final'; data: Buffer }
  | { kind: 'other'; code: number };

/** One column of a decoded RowDescription. */
export interface DecodedRowDescriptionField {
  name: string;
  tableOid: number;
  columnAttr: number;
  typeOid: number;
  typeSize: number;
  typeModifier: number;
  format: number;
}

function open(raw: Buffer, type: string, name: string): ByteReader {
  if (raw.length < 5 || raw[0] !== type.charCodeAt(0)) throw protocolViolation(`not a ${name} frame`);
  if (raw.readInt32BE(1) !== raw.length - 1) throw protocolViolation(`${name}: length field does not match the frame`);
  return new ByteReader(raw, name, 5);
}

/** Reads an ErrorResponse ('E') or NoticeResponse ('N') frame. */
export function decodeErrorFields(raw: Buffer): DecodedErrorFields {
  const name = raw[0] === 0x4e ? 'NoticeResponse' : 'ErrorResponse';
  const r = open(raw, name === 'NoticeResponse' ? 'N' : 'E', name);
  const byCode = new Map<string, string>();
  for (;;) {
    const code = r.byte('field code');
    if (code === 0) break;
    byCode.set(String.fromCharCode(code), r.cstring('field value'));
  }
  r.end();
  const severity = byCode.get('V') ?? byCode.get('S');
  const code = byCode.get('C');
  const message = byCode.get('M');
  if (severity === undefined || code === undefined || message === undefined) {
    throw protocolViolation(`${name}: severity, code or message missing`);
  }
  const out: DecodedErrorFields = { severity, code, message };
  const detail = byCode.get('D');
  const hint = byCode.get('H');
  if (detail !== undefined) out.detail = detail;
  if (hint !== undefined) out.hint = hint;
  for (const [k, v] of byCode) {
    if (!'SVCMDH'.includes(k)) out[k] = v;
  }
  return out;
}

/** Reads the transaction status of a ReadyForQuery frame. */
export function decodeReadyForQuery(raw: Buffer): TransactionStatus {
  const r = open(raw, 'Z', 'ReadyForQuery');
  const status = String.fromCharCode(r.byte('status'));
  r.end();
  if (status !== 'I' && status !== 'T' && status !== 'E') throw protocolViolation(`ReadyForQuery: invalid status ${status}`);
  return status;
}

/** Reads the tag of a CommandComplete frame, e.g. 'INSERT 0 1'. */
export function decodeCommandComplete(raw: Buffer): string {
  const r = open(raw, 'C', 'CommandComplete');
  const tag = r.cstring('tag');
  r.end();
  return tag;
}

/** Reads the columns of a RowDescription frame. */
export function decodeRowDescription(raw: Buffer): DecodedRowDescriptionField[] {
  const r = open(raw, 'T', 'RowDescription');
  const n = r.int16('column count');
  if (n < 0) throw protocolViolation(`RowDescription: negative column count ${n}`);
  const fields: DecodedRowDescriptionField[] = [];
  for (let i = 0; i < n; i++) {
    fields.push({
      name: r.cstring('column name'),
      tableOid: r.uint32('table OID'),
      columnAttr: r.int16('column attribute number'),
      typeOid: r.uint32('type OID'),
      typeSize: r.int16('type size'),
      typeModifier: r.int32('type modifier'),
      format: r.int16('format code'),
    });
  }
  r.end();
  return fields;
}

/** Reads the column count of a DataRow frame without touching the values. */
export function decodeDataRowColumnCount(raw: Buffer): number {
  const r = open(raw, 'D', 'DataRow');
  const n = r.int16('column count');
  if (n < 0) throw protocolViolation(`DataRow: negative column count ${n}`);
  return n;
}

/** Reads a BackendKeyData frame; both numbers are signed Int32 as on the wire. */
export function decodeBackendKeyData(raw: Buffer): { processId: number; secretKey: number } {
  const r = open(raw, 'K', 'BackendKeyData');
  const processId = r.int32('process ID');
  const secretKey = r.int32('secret key');
  // Protocol 3.2 allows longer secret keys; this library speaks 3.0 and rejects them.
  r.end();
  return { processId, secretKey };
}

/** Reads an Authentication* frame. */
export function decodeAuthentication(raw: Buffer): AuthenticationRequest {
  const r = open(raw, 'R', 'Authentication');
  const code = r.int32('authentication code');
  let out: AuthenticationRequest;
  switch (code) {
    case 0:
      out = { kind: 'ok' };
      break;
    case 3:
      out = { kind: 'cleartext' };
      break;
    case 5:
      out = { kind: 'md5', salt: r.bytes(4, 'salt') };
      break;
    case 10: {
      const mechanisms: string[] = [];
      for (;;) {
        const m = r.cstring('mechanism');
        if (m === '') break;
        mechanisms.push(m);
      }
      out = { kind: 'sasl', mechanisms };
      break;
    }
    case 11:
      out = { kind: 'sasl-continue', data: r.rest() };
      break;
    case 12:
      out = { kind: 'sasl-final', data: r.rest() };
      break;
    default:
      // Kerberos, GSS and SSPI carry payloads this library does not interpret.
      r.rest();
      out = { kind: 'other', code };
  }
  r.end();
  return out;
}

/** ParameterStatus: Byte1('S') Int32 length, String name, String value. */
export function decodeParameterStatus(raw: Buffer): { name: string; value: string } {
  const end = raw.indexOf(0, 5);
  if (raw[0] !== 0x53 || end === -1 || raw[raw.length - 1] !== 0) throw protocolViolation('malformed ParameterStatus');
  return { name: raw.toString('utf8', 5, end), value: raw.toString('utf8', end + 1, raw.length - 1) };
}
