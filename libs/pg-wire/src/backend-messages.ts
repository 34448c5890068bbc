// Backend messages the gateway sends to clients itself, from "Message Formats":
//   AuthenticationOk (B)                 Byte1('R') Int32(8)  Int32(0)
//   AuthenticationCleartextPassword (B)  Byte1('R') Int32(8)  Int32(3)
//   AuthenticationSASL (B)               Byte1('R') Int32 len Int32(10) String mechanism... Byte1('\0')
//   AuthenticationSASLContinue (B)       Byte1('R') Int32 len Int32(11) Byte(n) data
//   AuthenticationSASLFinal (B)          Byte1('R') Int32 len Int32(12) Byte(n) data
//   ParameterStatus (B)                  Byte1('S') Int32 len String name String value
//   BackendKeyData (B)                   Byte1('K') Int32(12) Int32 process ID Int32 secret key
//   ReadyForQuery (B)                    Byte1('Z') Int32(5) Byte1 'I' | 'T' | 'E'
//   ErrorResponse / NoticeResponse (B)   Byte1('E' | 'N') Int32 len, then (Byte1 field code,
//                                        String value)..., then Byte1('\0')
//   CommandComplete (B)                  Byte1('C') Int32 len String tag
//   EmptyQueryResponse (B)               Byte1('I') Int32(4)
//   RowDescription (B)                   Byte1('T') Int32 len Int16 n, n x (String name,
//                                        Int32 table OID, Int16 column attribute number,
//                                        Int32 type OID, Int16 type size, Int32 type modifier,
//                                        Int16 format code)
//   DataRow (B)                          Byte1('D') Int32 len Int16 n, n x (Int32 length or -1
//                                        for NULL, Byte(length) value)
//   SSLRequest answer                    a single unframed Byte1 'S' or 'N'
// Every serializer throws AG_ERR_PROTOCOL_VIOLATION on a value the wire cannot carry
// (a NUL inside a String, an integer out of range), never emitting a corrupt frame.
import { GatewayError } from '@agentgate/errors';
import { cstring, frame, int16, int32 } from './frame-writer.js';

/** Severity of an ErrorResponse or NoticeResponse; ERROR, FATAL and PANIC only in ErrorResponse. */
export type Severity = 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'DEBUG' | 'INFO' | 'LOG';

/** Fields of an ErrorResponse or NoticeResponse the gateway writes. */
export interface ErrorFields {
  severity: Severity;
  /** Five-character SQLSTATE, e.g. '42501'. */
  code: string;
  message: string;
  detail?: string;
  hint?: string;
}

/** Transaction status in ReadyForQuery: idle, in a transaction block, in a failed one. */
export type TransactionStatus = 'I' | 'T' | 'E';

/** One column of a RowDescription; omitted numbers default to "not a table column", variable size, no modifier, text. */
export interface RowDescriptionField {
  name: string;
  tableOid?: number;
  columnAttr?: number;
  typeOid: number;
  typeSize?: number;
  typeModifier?: number;
  format?: number;
}

function authentication(code: number, parts: readonly Uint8Array[] = []): Buffer {
  return frame('R', [int32(code, 'authentication code'), ...parts]);
}

/** AuthenticationOk: authentication succeeded. */
export function authenticationOk(): Buffer {
  return authentication(0);
}

/** AuthenticationCleartextPassword: asks the client for its password in clear text. */
export function authenticationCleartextPassword(): Buffer {
  return authentication(3);
}

/** AuthenticationSASL: offers SASL mechanisms, most preferred first. */
export function authenticationSasl(mechanisms: readonly string[]): Buffer {
  if (mechanisms.length === 0) throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', 'at least one SASL mechanism is required');
  // An empty name would read as the list terminator.
  if (mechanisms.some((m) => m === '')) throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', 'SASL mechanism names must not be empty');
  return authentication(10, [...mechanisms.map((m) => cstring(m, 'SASL mechanism')), Buffer.of(0)]);
}

/** AuthenticationSASLContinue: a server challenge (SCRAM server-first-message). */
export function authenticationSaslContinue(data: Uint8Array): Buffer {
  return authentication(11, [data]);
}

/** AuthenticationSASLFinal: the final server data (SCRAM server-final-message). */
export function authenticationSaslFinal(data: Uint8Array): Buffer {
  return authentication(12, [data]);
}

/** ParameterStatus: reports a run-time parameter such as server_version. */
export function parameterStatus(name: string, value: string): Buffer {
  return frame('S', [cstring(name, 'parameter name'), cstring(value, 'parameter value')]);
}

/**
 * NegotiateProtocolVersion: Int32 newest minor version the server supports for the major
 * the client asked for, Int32 count, then the names of the protocol options not recognised.
 */
export function negotiateProtocolVersion(newestMinor: number, unsupportedOptions: readonly string[]): Buffer {
  return frame('v', [
    int32(newestMinor, 'minor version'),
    int32(unsupportedOptions.length, 'option count'),
    ...unsupportedOptions.map((o) => cstring(o, 'option name')),
  ]);
}

/** BackendKeyData: the key a client quotes in a CancelRequest; values may be signed or unsigned 32-bit. */
export function backendKeyData(processId: number, secretKey: number): Buffer {
  return frame('K', [int32(processId, 'process ID'), int32(secretKey, 'secret key')]);
}

/** ReadyForQuery: the server is ready for a new query cycle. */
export function readyForQuery(status: TransactionStatus): Buffer {
  if (status !== 'I' && status !== 'T' && status !== 'E') {
    throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `invalid transaction status ${String(status)}`);
  }
  return frame('Z', [Buffer.from(status, 'latin1')]);
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

function errorFieldParts(fields: ErrorFields): Buffer[] {
  if (!SQLSTATE.test(fields.code)) throw new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `invalid SQLSTATE ${fields.code}`);
  const field = (code: string, value: string): Buffer => Buffer.concat([Buffer.from(code, 'latin1'), cstring(value, `field ${code}`)]);
  // 'S' may be localized, 'V' never is (PostgreSQL 9.6+ sends both); the gateway does not
  // localize, so both carry the same word.
  const parts = [field('S', fields.severity), field('V', fields.severity), field('C', fields.code), field('M', fields.message)];
  if (fields.detail !== undefined) parts.push(field('D', fields.detail));
  if (fields.hint !== undefined) parts.push(field('H', fields.hint));
  parts.push(Buffer.of(0));
  return parts;
}

/** ErrorResponse with severity, SQLSTATE, message and optional detail and hint. */
export function errorResponse(fields: ErrorFields): Buffer {
  return frame('E', errorFieldParts(fields));
}

/** NoticeResponse: same fields as ErrorResponse, but the query goes on. */
export function noticeResponse(fields: ErrorFields): Buffer {
  return frame('N', errorFieldParts(fields));
}

/** CommandComplete with its tag, e.g. 'SELECT 1'. */
export function commandComplete(tag: string): Buffer {
  return frame('C', [cstring(tag, 'command tag')]);
}

/** EmptyQueryResponse: the answer to an empty query string. */
export function emptyQueryResponse(): Buffer {
  return frame('I', []);
}

/** RowDescription: column names, types and formats of the rows that follow. */
export function rowDescription(fields: readonly RowDescriptionField[]): Buffer {
  const parts: Buffer[] = [int16(fields.length, 'column count')];
  for (const f of fields) {
    parts.push(
      cstring(f.name, 'column name'),
      int32(f.tableOid ?? 0, 'table OID'),
      int16(f.columnAttr ?? 0, 'column attribute number'),
      int32(f.typeOid, 'type OID'),
      int16(f.typeSize ?? -1, 'type size'),
      int32(f.typeModifier ?? -1, 'type modifier'),
      int16(f.format ?? 0, 'format code'),
    );
  }
  return frame('T', parts);
}

/** DataRow: one row; strings are sent as UTF-8 text, null as SQL NULL. */
export function dataRow(values: readonly (Uint8Array | string | null)[]): Buffer {
  const parts: Buffer[] = [int16(values.length, 'column count')];
  for (const v of values) {
    if (v === null) {
      parts.push(int32(-1, 'value length'));
      continue;
    }
    const bytes = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    parts.push(int32(bytes.length, 'value length'), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  return frame('D', parts);
}

/** The single unframed byte answering an SSLRequest: 'S' to start TLS, 'N' to continue in clear. */
export function sslResponse(accept: boolean): Buffer {
  return Buffer.from(accept ? 'S' : 'N', 'latin1');
}
