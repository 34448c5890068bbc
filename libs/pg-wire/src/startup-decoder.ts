// Startup-phase frames (no type byte), from "Message Formats":
//   SSLRequest (F)     Int32(8)  Int32(80877103)   1234 in the high 16 bits, 5679 in the low
//   GSSENCRequest (F)  Int32(8)  Int32(80877104)   1234 / 5680
//   CancelRequest (F)  Int32(16) Int32(80877102)   1234 / 5678, then Int32 process ID, Int32 secret key
//   StartupMessage (F) Int32 length, Int32(196608) protocol 3.0 (major in the high 16 bits),
//                      then String name, String value pairs, then Byte1('\0')
import { ByteReader } from './byte-reader.js';
import type { FrontendMessage } from './frontend-messages.js';
import { protocolViolation } from './protocol-error.js';

/** Request code of SSLRequest. */
export const SSL_REQUEST_CODE = 80877103;
/** Request code of GSSENCRequest. */
export const GSSENC_REQUEST_CODE = 80877104;
/** Request code of CancelRequest. */
export const CANCEL_REQUEST_CODE = 80877102;
/** Protocol version 3.0 as sent in a StartupMessage. */
export const PROTOCOL_3_0 = 196608;

// The postmaster reserves major version 1234 for these negotiation codes.
const NEGOTIATION_MAJOR = 1234;

/** Decodes one complete startup-phase frame (`raw` includes the length word). */
export function decodeStartupFrame(raw: Buffer): FrontendMessage {
  const r = new ByteReader(raw, 'startup packet', 4);
  const code = r.uint32('request code');
  switch (code) {
    case SSL_REQUEST_CODE:
      r.end();
      return { type: 'SSLRequest', raw };
    case GSSENC_REQUEST_CODE:
      r.end();
      return { type: 'GSSENCRequest', raw };
    case CANCEL_REQUEST_CODE: {
      const processId = r.int32('process ID');
      const secretKey = r.int32('secret key');
      r.end();
      return { type: 'CancelRequest', processId, secretKey, raw };
    }
  }
  const major = code >>> 16;
  const minor = code & 0xffff;
  if (major === NEGOTIATION_MAJOR) throw protocolViolation(`unknown startup request code ${code}`);
  if (major !== 3) throw protocolViolation(`unsupported frontend protocol ${major}.${minor}`);
  const parameters: Record<string, string> = Object.create(null) as Record<string, string>;
  for (;;) {
    const name = r.cstring('parameter name');
    // An empty name is the terminating zero byte of the list.
    if (name === '') break;
    // Later duplicates win, as in the server's ProcessStartupPacket, so the gateway
    // reads the same user and database the server would.
    parameters[name] = r.cstring(`value of ${name}`);
  }
  // The server rejects a packet whose terminator is not the last byte.
  r.end();
  return { type: 'Startup', protocolVersion: { major, minor }, parameters, raw };
}
