// Credentials that are recognised by their container: JWTs, PEM private keys, passwords
// inside connection strings, and high-entropy values assigned to secret-sounding names.
import { Buffer } from 'node:buffer';
import { HAS_AT, HAS_COLON, HAS_DASH, HAS_DOT, HAS_EQUALS, HAS_SLASH, lowerCount, upperCount } from '../text-profile.js';
import type { Detector, DetectorMatch } from '../types.js';
import { classes } from './cloud-tokens.js';

const JWT = /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*(?![A-Za-z0-9_-])/g;

function decodesToObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * JSON Web Tokens (JWS compact form): three base64url segments, the header and the payload
 * decode to JSON objects, the header names a string `alg`. The signature may be empty.
 */
export const jwtDetector: Detector = {
  name: 'jwt',
  mayMatch: (profile, length) => (profile & HAS_DOT) !== 0 && length >= 16,
  find(text) {
    const out: DetectorMatch[] = [];
    if (!text.includes('eyJ')) return out;
    JWT.lastIndex = 0;
    for (let m = JWT.exec(text); m !== null; m = JWT.exec(text)) {
      const [header, payload] = m[0].split('.');
      const h = decodesToObject(header!);
      if (!h || typeof h['alg'] !== 'string' || !decodesToObject(payload!)) continue;
      out.push({ detector: 'jwt', start: m.index, end: m.index + m[0].length });
    }
    return out;
  },
};

const PEM_BEGIN = /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?)PRIVATE KEY-----/y;

/**
 * PEM private keys: from `-----BEGIN [RSA |EC |DSA |OPENSSH |ENCRYPTED ]PRIVATE KEY-----` to the
 * matching END line, inclusive. A block without its END line (a truncated cell) is masked to the
 * end of the text: half a private key is still a secret.
 */
export const pemPrivateKeyDetector: Detector = {
  name: 'pem-private-key',
  // `-----BEGIN PRIVATE KEY-----`, the shortest header, has 27 characters.
  mayMatch: (profile, length) => (profile & HAS_DASH) !== 0 && length >= 27,
  find(text) {
    const out: DetectorMatch[] = [];
    for (let at = text.indexOf('-----BEGIN '); at >= 0; at = text.indexOf('-----BEGIN ', at + 1)) {
      PEM_BEGIN.lastIndex = at;
      const m = PEM_BEGIN.exec(text);
      if (!m) continue;
      const endLine = `-----END ${m[1]}PRIVATE KEY-----`;
      const e = text.indexOf(endLine, at + m[0].length);
      const end = e < 0 ? text.length : e + endLine.length;
      out.push({ detector: 'pem-private-key', start: at, end });
      at = end - 1;
    }
    return out;
  },
};

// Characters that end a URI's authority (RFC 3986 section 3.2) or the URI itself in prose.
function endsAuthority(c: number): boolean {
  return c === 47 || c === 63 || c === 35 || c <= 32 || c === 34 || c === 39 || c === 60 || c === 62 || c === 96 || c === 92;
}

function isSchemeChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46;
}

// password=, passwd=, pwd= as a key (libpq keyword/value, JDBC/ODBC/ADO.NET `;Password=`, URL query).
const PASSWORD_KEY = /(?<![A-Za-z0-9_])(?:password|passwd|pwd)[ \t]*=[ \t]*/gi;

/**
 * The password inside connection strings, and only it (the match span is the password, so
 * masking keeps user, host and database): the userinfo of any `scheme://user:password@host`
 * URI (postgres, mysql, mongodb+srv, redis, amqp, https, jdbc:…), up to the authority's last
 * `@`; and the value of `password=` / `pwd=` keys, quoted ('…' libpq, "…", {…} ODBC; quotes
 * not included) or bare up to whitespace, `;` or `&`.
 */
export const connectionStringPasswordDetector: Detector = {
  name: 'connection-string-password',
  mayMatch: (profile) => (profile & (HAS_COLON | HAS_AT | HAS_SLASH)) === (HAS_COLON | HAS_AT | HAS_SLASH) || (profile & HAS_EQUALS) !== 0,
  find(text) {
    const out: DetectorMatch[] = [];
    for (let s = text.indexOf('://'); s >= 0; s = text.indexOf('://', s + 3)) {
      if (s === 0 || !isSchemeChar(text.charCodeAt(s - 1))) continue;
      const from = s + 3;
      let end = from;
      while (end < text.length && !endsAuthority(text.charCodeAt(end))) end++;
      const at = text.lastIndexOf('@', end - 1);
      if (at < from) continue;
      const colon = text.indexOf(':', from);
      if (colon < 0 || colon >= at || colon + 1 === at) continue;
      out.push({ detector: 'connection-string-password', start: colon + 1, end: at });
    }
    if (text.includes('=')) {
      PASSWORD_KEY.lastIndex = 0;
      for (let m = PASSWORD_KEY.exec(text); m !== null; m = PASSWORD_KEY.exec(text)) {
        const span = passwordValue(text, m.index + m[0].length);
        if (!span) continue;
        if (!out.some((p) => p.start < span[1] && span[0] < p.end))
          out.push({ detector: 'connection-string-password', start: span[0], end: span[1] });
        // the value is not searched for further keys (keeps a run of `password=password=…` linear)
        PASSWORD_KEY.lastIndex = Math.max(PASSWORD_KEY.lastIndex, span[1]);
      }
      if (out.length > 1) out.sort((a, b) => a.start - b.start);
    }
    return out;
  },
};

// The [start, end) of a key's value beginning at `i`, without its quotes; undefined when empty.
function passwordValue(text: string, i: number): [number, number] | undefined {
  const q = text[i];
  const n = text.length;
  if (q === "'" || q === '"') {
    let j = i + 1;
    while (j < n && text[j] !== q) j += text[j] === '\\' ? 2 : 1;
    return j > i + 1 ? [i + 1, Math.min(j, n)] : undefined;
  }
  if (q === '{') {
    let j = i + 1;
    // ODBC: '}}' inside braces is an escaped '}'
    while (j < n && !(text[j] === '}' && text[j + 1] !== '}')) j += text[j] === '}' ? 2 : 1;
    return j > i + 1 ? [i + 1, Math.min(j, n)] : undefined;
  }
  let j = i;
  while (j < n) {
    const c = text.charCodeAt(j);
    if (c <= 32 || c === 59 || c === 38 || c === 34 || c === 39) break;
    j++;
  }
  return j > i ? [i, j] : undefined;
}

const SECRET_ASSIGNMENT =
  /(?<![A-Za-z0-9])(?:api[_-]?key|api[_-]?secret|secret[_-]?key|client[_-]?secret|access[_-]?token|auth[_-]?token|refresh[_-]?token|private[_-]?key|secret|token|password|passwd)["']?[ \t]*[:=][ \t]*["']?([A-Za-z0-9_\-+/=.~]{16,})/gi;

/** Shannon entropy of `s` in bits per character. */
export function shannonEntropy(s: string): number {
  const counts = new Map<string, number>();
  for (const ch of s) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/**
 * Secret-sounding names (`api_key`, `secret`, `token`, `client_secret`, `password`, …) assigned
 * with `=` or `:` a value of 16+ characters that looks random: Shannon entropy >= 3 bits per
 * character and at least two of lower-case, upper-case, digit. The span is the value only.
 */
export const genericSecretAssignmentDetector: Detector = {
  name: 'generic-secret-assignment',
  mayMatch: (profile, length) =>
    (profile & (HAS_EQUALS | HAS_COLON)) !== 0 && length >= 21 && lowerCount(profile) + upperCount(profile) >= 6,
  find(text) {
    const out: DetectorMatch[] = [];
    SECRET_ASSIGNMENT.lastIndex = 0;
    for (let m = SECRET_ASSIGNMENT.exec(text); m !== null; m = SECRET_ASSIGNMENT.exec(text)) {
      let end = m.index + m[0].length;
      let value = m[1]!;
      // a sentence's full stop after the value is not part of it
      while (value.endsWith('.')) {
        value = value.slice(0, -1);
        end--;
      }
      if (value.length < 16 || shannonEntropy(value) < 3 || classes(value) < 2) continue;
      out.push({ detector: 'generic-secret-assignment', start: end - value.length, end });
    }
    return out;
  },
};
