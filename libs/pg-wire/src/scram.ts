// SCRAM-SHA-256 client (RFC 5802, RFC 7677) as PostgreSQL uses it inside SASLInitialResponse,
// AuthenticationSASLContinue, SASLResponse and AuthenticationSASLFinal:
//   client-first-message  = gs2-header client-first-bare;  gs2-header "n,," (no channel binding)
//   client-first-bare     = "n=" saslname ",r=" c-nonce     (libpq sends an empty saslname:
//                           the server takes the user from the StartupMessage)
//   server-first-message  = ["m=" ext ","] "r=" c-nonce s-nonce ",s=" base64(salt) ",i=" count ["," ext]
//   client-final-message  = "c=biws,r=" nonce ",p=" base64(ClientProof)   ("biws" = base64("n,,"))
//   server-final-message  = ("v=" base64(ServerSignature) | "e=" server-error) ["," ext]
//   SaltedPassword = PBKDF2-HMAC-SHA-256(password, salt, count)
//   ClientKey = HMAC(SaltedPassword, "Client Key"); StoredKey = SHA-256(ClientKey)
//   AuthMessage = client-first-bare "," server-first-message "," client-final-without-proof
//   ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage)
//   ServerSignature = HMAC(HMAC(SaltedPassword, "Server Key"), AuthMessage)
//
// SASLprep-lite: the password is used as its UTF-8 bytes, without RFC 4013 SASLprep. The
// server tolerates this: when it builds a verifier it applies SASLprep but falls back to the
// raw bytes whenever SASLprep fails, and SASLprep leaves printable ASCII unchanged, so ASCII
// passwords (and non-ASCII ones already in NFKC without special spaces or ignorable code
// points) hash identically. Only passwords SASLprep would rewrite can fail to log in.
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '@agentgate/errors';

/** State between the client-first and client-final messages. */
export interface ScramClientFirstState {
  readonly clientNonce: string;
  readonly clientFirstBare: string;
}

/** State after the client-final message: what the server must prove. */
export interface ScramClientFinalState {
  readonly expectedServerSignature: string;
}

/** Options of {@link scramClientFirst}. */
export interface ScramClientFirstOptions {
  /** saslname in client-first-bare; default '' as libpq sends it. */
  username?: string;
}

/** Options of {@link scramClientFinal}. */
export interface ScramClientFinalOptions {
  /** Lowest iteration count accepted from the server; default 4096 (RFC 7677). */
  minIterations?: number;
  /** Highest iteration count accepted, so a hostile server cannot stall the event loop; default 10,000,000. */
  maxIterations?: number;
  /** Hi(password, salt, i) of RFC 5802 (PBKDF2-HMAC-SHA-256); default computes it (see saltedPasswordCache). */
  saltedPassword?: (password: string, salt: Buffer, iterations: number) => Buffer;
}

/** Hi(password, salt, i): PBKDF2-HMAC-SHA-256, 32 bytes. Thousands of HMACs on the calling thread. */
export function scramSaltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 32, 'sha256');
}

/**
 * A memo of scramSaltedPassword. A role's salt and iteration count stay the same until its
 * password changes, so every login after the first skips PBKDF2 (4096 rounds by default: several
 * milliseconds of a blocked event loop per connection). It holds what the password already
 * allows; the key holds a hash of the password, not the password.
 */
export function saltedPasswordCache(maxEntries = 256): (password: string, salt: Buffer, iterations: number) => Buffer {
  const memo = new Map<string, Buffer>();
  return (password, salt, iterations) => {
    const key = `${createHash('sha256').update(password, 'utf8').digest('base64')}:${salt.toString('base64')}:${iterations}`;
    let salted = memo.get(key);
    if (salted === undefined) {
      salted = scramSaltedPassword(password, salt, iterations);
      if (memo.size >= maxEntries) memo.delete(memo.keys().next().value!);
      memo.set(key, salted);
    }
    return salted;
  };
}

const GS2_HEADER = 'n,,';
const CHANNEL_BINDING = Buffer.from(GS2_HEADER).toString('base64'); // 'biws'
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// printable = %x21-2B / %x2D-7E: visible ASCII except ','.
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;

function violation(message: string): GatewayError {
  return new GatewayError('AG_ERR_PROTOCOL_VIOLATION', `SCRAM: ${message}`);
}

function authFailed(message: string): GatewayError {
  return new GatewayError('AG_ERR_UPSTREAM_AUTH_FAILED', `SCRAM: ${message}`);
}

function base64Bytes(value: string, what: string): Buffer {
  if (value === '' || !BASE64.test(value)) throw violation(`${what} is not valid base64`);
  return Buffer.from(value, 'base64');
}

// saslname escapes ',' and '=' (RFC 5802 section 5.1).
function saslName(username: string): string {
  return username.replaceAll('=', '=3D').replaceAll(',', '=2C');
}

function hmac(key: Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

/** Splits "a=x,b=y" into ordered [name, value] pairs; a value may itself contain '='. */
function attributes(message: string, what: string): [string, string][] {
  return message.split(',').map((part) => {
    if (part.length < 2 || part[1] !== '=') throw violation(`malformed attribute in ${what}`);
    return [part.slice(0, 1), part.slice(2)];
  });
}

/** Builds the client-first-message for a caller-supplied nonce (printable ASCII, no ','). */
export function scramClientFirst(
  clientNonce: string,
  options: ScramClientFirstOptions = {},
): { message: string; state: ScramClientFirstState } {
  if (!PRINTABLE.test(clientNonce)) throw violation('client nonce must be printable ASCII without commas');
  const clientFirstBare = `n=${saslName(options.username ?? '')},r=${clientNonce}`;
  return { message: GS2_HEADER + clientFirstBare, state: { clientNonce, clientFirstBare } };
}

/** Answers the server-first-message with the client-final-message and the signature the server must return. */
export function scramClientFinal(
  state: ScramClientFirstState,
  serverFirst: string,
  password: string,
  options: ScramClientFinalOptions = {},
): { message: string; expectedServerSignature: string; state: ScramClientFinalState } {
  const minIterations = options.minIterations ?? 4096;
  const maxIterations = options.maxIterations ?? 10_000_000;
  const attrs = attributes(serverFirst, 'server-first-message');
  if (attrs[0]?.[0] === 'm') throw violation('server requires an unsupported mandatory extension');
  const [r, s, i] = attrs;
  if (r?.[0] !== 'r' || s?.[0] !== 's' || i?.[0] !== 'i') throw violation('server-first-message must be r=,s=,i=');
  const nonce = r[1];
  if (!PRINTABLE.test(nonce)) throw violation('server nonce is not printable');
  // The server appends its own part to ours; anything else is a replayed or forged exchange.
  if (!nonce.startsWith(state.clientNonce) || nonce.length === state.clientNonce.length) {
    throw authFailed('server nonce does not extend the client nonce');
  }
  const salt = base64Bytes(s[1], 'salt');
  if (!/^[1-9][0-9]{0,9}$/.test(i[1])) throw violation('iteration count is not a positive integer');
  const iterations = Number(i[1]);
  if (iterations < minIterations) throw authFailed(`iteration count ${iterations} is below the minimum ${minIterations}`);
  if (iterations > maxIterations) throw authFailed(`iteration count ${iterations} is above the maximum ${maxIterations}`);

  const saltedPassword = (options.saltedPassword ?? scramSaltedPassword)(password, salt, iterations);
  const clientKey = hmac(saltedPassword, 'Client Key');
  const storedKey = createHash('sha256').update(clientKey).digest();
  const clientFinalWithoutProof = `c=${CHANNEL_BINDING},r=${nonce}`;
  const authMessage = `${state.clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
  const clientSignature = hmac(storedKey, authMessage);
  const proof = Buffer.alloc(clientKey.length);
  for (let k = 0; k < proof.length; k++) proof[k] = (clientKey[k] as number) ^ (clientSignature[k] as number);
  const serverKey = hmac(saltedPassword, 'Server Key');
  const expectedServerSignature = hmac(serverKey, authMessage).toString('base64');
  return {
    message: `${clientFinalWithoutProof},p=${proof.toString('base64')}`,
    expectedServerSignature,
    state: { expectedServerSignature },
  };
}

/** Checks the server-final-message; throws AG_ERR_UPSTREAM_AUTH_FAILED on a wrong signature or an `e=` error. */
export function scramVerifyServerFinal(expectedServerSignature: string, serverFinal: string): void {
  const [first] = attributes(serverFinal, 'server-final-message');
  if (first?.[0] === 'e') throw authFailed(`server reported ${first[1]}`);
  if (first?.[0] !== 'v') throw violation('server-final-message must start with v= or e=');
  const actual = base64Bytes(first[1], 'server signature');
  const expected = Buffer.from(expectedServerSignature, 'base64');
  if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) {
    throw authFailed('server signature does not match; the server does not know the password');
  }
}
