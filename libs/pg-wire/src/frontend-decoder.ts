// Typed frontend frames, from "Message Formats" (each: Byte1 type, Int32 length incl. self):
//   Query 'Q'        String query
//   Terminate 'X'    (empty)
//   'p'              PasswordMessage: String password | SASLInitialResponse | SASLResponse
//   Parse 'P'        String name, String query, Int16 n, Int32[n] parameter type OIDs
//   Bind 'B'         String portal, String statement, Int16 n, Int16[n] parameter format codes,
//                    Int16 m, m x (Int32 length or -1 for NULL, Byte(length) value),
//                    Int16 k, Int16[k] result format codes
//   Describe 'D'     Byte1 'S' | 'P', String name
//   Execute 'E'      String portal, Int32 max rows (0 = no limit)
//   Sync 'S', Flush 'H', CopyDone 'c'   (empty)
//   Close 'C'        Byte1 'S' | 'P', String name
//   CopyData 'd'     Byte(n) data
//   CopyFail 'f'     String error message
//   FunctionCall 'F' Int32 function OID, Int16 c, Int16[c] argument format codes,
//                    Int16 n, n x (Int32 length or -1 for NULL, Byte(length) value),
//                    Int16 result format code
import { ByteReader } from './byte-reader.js';
import type { FrontendMessage } from './frontend-messages.js';
import { protocolViolation } from './protocol-error.js';

const KNOWN_TYPES = new Set(['Q', 'X', 'p', 'P', 'B', 'D', 'E', 'S', 'H', 'C', 'd', 'c', 'f', 'F']);

/** True when `typeByte` starts a frontend message type of protocol 3.0. */
export function isFrontendType(typeByte: number): boolean {
  return KNOWN_TYPES.has(String.fromCharCode(typeByte));
}

function target(r: ByteReader): 'S' | 'P' {
  const t = r.byte('target');
  if (t === 0x53) return 'S';
  if (t === 0x50) return 'P';
  throw protocolViolation(`invalid target byte 0x${t.toString(16)}, expected 'S' or 'P'`);
}

// Counts are read unsigned, as the server's pq_getmsgint(msg, 2) does: libpq sends up to
// 65535 parameters, so 32768..65535 are legal. A count the body cannot hold fails the
// bounds check of the first read it implies.
function int16Array(r: ByteReader, n: number, field: string): number[] {
  if (n * 2 > r.remaining) throw protocolViolation(`${field}: count ${n} exceeds the message`);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.int16(field));
  return out;
}

/** Decodes one complete typed frame (`raw` includes the type byte); throws AG_ERR_PROTOCOL_VIOLATION. */
export function decodeFrontendFrame(raw: Buffer): FrontendMessage {
  const code = String.fromCharCode(raw[0] as number);
  const r = new ByteReader(raw, `frontend message '${code}'`, 5);
  let m: FrontendMessage;
  switch (code) {
    case 'Q':
      m = { type: 'Query', sql: r.cstring('query'), raw };
      break;
    case 'X':
      m = { type: 'Terminate', raw };
      break;
    case 'p':
      m = { type: 'PasswordLike', payload: r.rest(), raw };
      break;
    case 'P': {
      const name = r.cstring('statement name');
      const sql = r.cstring('query');
      const n = r.uint16('parameter type count');
      if (n * 4 > r.remaining) throw protocolViolation(`Parse: ${n} parameter types exceed the message`);
      const paramTypeOids: number[] = [];
      for (let i = 0; i < n; i++) paramTypeOids.push(r.uint32('parameter type OID'));
      m = { type: 'Parse', name, sql, paramTypeOids, raw };
      break;
    }
    case 'B': {
      const portal = r.cstring('portal name');
      const statement = r.cstring('statement name');
      const paramFormats = int16Array(r, r.uint16('parameter format count'), 'parameter format codes');
      const n = r.uint16('parameter count');
      // Each parameter needs at least its 4-byte length word.
      if (n * 4 > r.remaining) throw protocolViolation(`Bind: ${n} parameters exceed the message`);
      // Zero format codes means all text, one applies to all; anything else must match n.
      if (paramFormats.length > 1 && paramFormats.length !== n) {
        throw protocolViolation(`Bind: ${paramFormats.length} parameter formats for ${n} parameters`);
      }
      const params: (Buffer | null)[] = [];
      for (let i = 0; i < n; i++) {
        const len = r.int32('parameter length');
        if (len === -1) params.push(null);
        else params.push(r.bytes(len, 'parameter value'));
      }
      const resultFormats = int16Array(r, r.uint16('result format count'), 'result format codes');
      m = { type: 'Bind', portal, statement, paramFormats, params, resultFormats, raw };
      break;
    }
    case 'D': {
      const t = target(r);
      m = { type: 'Describe', target: t, name: r.cstring('name'), raw };
      break;
    }
    case 'E': {
      const portal = r.cstring('portal name');
      m = { type: 'Execute', portal, maxRows: r.int32('max rows'), raw };
      break;
    }
    case 'S':
      m = { type: 'Sync', raw };
      break;
    case 'H':
      m = { type: 'Flush', raw };
      break;
    case 'C': {
      const t = target(r);
      m = { type: 'Close', target: t, name: r.cstring('name'), raw };
      break;
    }
    case 'd':
      m = { type: 'CopyData', data: r.rest(), raw };
      break;
    case 'c':
      m = { type: 'CopyDone', raw };
      break;
    case 'f':
      m = { type: 'CopyFail', message: r.cstring('error message'), raw };
      break;
    case 'F': {
      const functionOid = r.uint32('function OID');
      const argFormats = int16Array(r, r.uint16('argument format count'), 'argument format codes');
      const n = r.uint16('argument count');
      // Each argument needs at least its 4-byte length word.
      if (n * 4 > r.remaining) throw protocolViolation(`FunctionCall: ${n} arguments exceed the message`);
      // As in Bind: zero format codes means all text, one applies to all, else one per argument.
      if (argFormats.length > 1 && argFormats.length !== n) {
        throw protocolViolation(`FunctionCall: ${argFormats.length} argument formats for ${n} arguments`);
      }
      const args: (Buffer | null)[] = [];
      for (let i = 0; i < n; i++) {
        const len = r.int32('argument length');
        if (len === -1) args.push(null);
        else args.push(r.bytes(len, 'argument value'));
      }
      m = { type: 'FunctionCall', functionOid, argFormats, args, resultFormat: r.int16('result format code'), raw };
      break;
    }
    default:
      throw protocolViolation(`unknown frontend message type 0x${(raw[0] as number).toString(16)}`);
  }
  r.end();
  return m;
}
