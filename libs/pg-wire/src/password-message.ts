// Payloads of frontend type 'p', from "Message Formats" (the byte is shared; only the
// authentication exchange in progress tells which one the client sent):
//   PasswordMessage (F)      String password (cleartext, or 'md5' + 32 hex digits)
//   SASLInitialResponse (F)  String mechanism name, Int32 length of the initial response
//                            (-1 if none), Byte(n) initial response
//   SASLResponse (F)         Byte(n) mechanism-specific data
import { ByteReader } from './byte-reader.js';

/** Reads the password String of a PasswordMessage payload; throws AG_ERR_PROTOCOL_VIOLATION. */
export function decodePasswordMessage(payload: Buffer): string {
  const r = new ByteReader(payload, 'PasswordMessage');
  const password = r.cstring('password');
  r.end();
  return password;
}

/** Reads a SASLInitialResponse payload; throws AG_ERR_PROTOCOL_VIOLATION. */
export function decodeSaslInitialResponse(payload: Buffer): { mechanism: string; initialResponse: Buffer | null } {
  const r = new ByteReader(payload, 'SASLInitialResponse');
  const mechanism = r.cstring('mechanism');
  const length = r.int32('initial response length');
  const initialResponse = length === -1 ? null : r.bytes(length, 'initial response');
  r.end();
  return { mechanism, initialResponse };
}
