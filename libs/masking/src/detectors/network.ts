// IP addresses. IPv4 is a strict dotted quad that is not part of a longer dotted sequence;
// IPv6 candidates are cut out by a linear scan and then parsed as RFC 4291 text.
import { HAS_DOT, HAS_TWO_COLONS, digitCount } from '../text-profile.js';
import type { Detector, DetectorMatch } from '../types.js';

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
// Not preceded by a letter, digit or dot (v1.2.3.4, 9.1.2.3.4), not followed by a letter,
// digit or ".digit" (1.2.3.4.5); leading zeros fail because "01" cannot be an octet.
const IPV4 = new RegExp(`(?<![0-9A-Za-z.])(?:${OCTET}\\.){3}${OCTET}(?![0-9A-Za-z]|\\.[0-9])`, 'g');

/** IPv4 dotted quads: four octets 0-255 without leading zeros, not inside a longer dotted sequence. */
export const ipv4Detector: Detector = {
  name: 'ipv4',
  mayMatch: (profile) => (profile & HAS_DOT) !== 0 && digitCount(profile) >= 4,
  find(text) {
    const out: DetectorMatch[] = [];
    IPV4.lastIndex = 0;
    for (let m = IPV4.exec(text); m !== null; m = IPV4.exec(text)) {
      out.push({ detector: 'ipv4', start: m.index, end: m.index + m[0].length });
    }
    return out;
  },
};

/** True when `s` is a dotted quad with octets 0-255 and no leading zeros. */
export function isIpv4(s: string): boolean {
  const parts = s.split('.');
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (!/^(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$/.test(p)) return false;
  }
  return true;
}

function isHexGroup(p: string): boolean {
  return p.length >= 1 && p.length <= 4 && /^[0-9A-Fa-f]+$/.test(p);
}

// Counts the 16-bit groups of one side of '::' (or of the whole address); -1 when malformed.
// Only the last part of the address may be an embedded IPv4 (two groups).
function countGroups(side: string, isLastSide: boolean): number {
  if (side === '') return 0;
  const parts = side.split(':');
  let groups = 0;
  for (let k = 0; k < parts.length; k++) {
    const p = parts[k]!;
    if (isLastSide && k === parts.length - 1 && p.includes('.')) {
      if (!isIpv4(p)) return -1;
      groups += 2;
    } else if (isHexGroup(p)) groups++;
    else return -1;
  }
  return groups;
}

/**
 * True when `s` is IPv6 text (RFC 4291 section 2.2): eight groups of 1-4 hex digits, or fewer
 * with exactly one `::` standing for at least one zero group, optionally ending in a dotted quad.
 */
export function isIpv6(s: string): boolean {
  const dbl = s.indexOf('::');
  if (dbl < 0) return countGroups(s, true) === 8;
  if (s.indexOf('::', dbl + 1) >= 0) return false;
  const right = s.slice(dbl + 2);
  const left = countGroups(s.slice(0, dbl), right === '');
  const rightGroups = countGroups(right, true);
  return left >= 0 && rightGroups >= 0 && left + rightGroups <= 7;
}

function isIpv6Char(c: number): boolean {
  return (c >= 48 && c <= 58) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102) || c === 46;
}

function isWordChar(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

/**
 * IPv6 addresses, full or compressed (`::1`, `2001:db8::8a2e:370:7334`, `::ffff:192.0.2.1`),
 * with an optional zone (`fe80::1%eth0`). Times (`12:30:45`) and MAC addresses have the wrong
 * group count. A compressed address of at most two groups needs a decimal digit, so code such
 * as `abc::def` is not an address.
 */
export const ipv6Detector: Detector = {
  name: 'ipv6',
  mayMatch: (profile) => (profile & HAS_TWO_COLONS) !== 0,
  find(text) {
    const out: DetectorMatch[] = [];
    const n = text.length;
    let i = 0;
    while (i < n) {
      if (!isIpv6Char(text.charCodeAt(i))) {
        i++;
        continue;
      }
      const start = i;
      let colons = 0;
      while (i < n && isIpv6Char(text.charCodeAt(i))) {
        if (text.charCodeAt(i) === 58) colons++;
        i++;
      }
      if (colons < 2 || isWordChar(text.charCodeAt(start - 1))) continue;
      let end = i;
      // a sentence's full stop or a trailing single colon is not part of the address
      while (end > start && text.charCodeAt(end - 1) === 46) end--;
      let candidate = text.slice(start, end);
      if (!isIpv6(candidate) && candidate.endsWith(':') && !candidate.endsWith('::')) {
        end--;
        candidate = candidate.slice(0, -1);
      }
      if (!isIpv6(candidate) || !plausible(candidate)) continue;
      if (end === i && text.charCodeAt(end) === 37) {
        let z = end + 1;
        while (z < n && /[0-9A-Za-z._~-]/.test(text[z]!)) z++;
        if (z > end + 1) end = z;
      }
      if (end === i && isWordChar(text.charCodeAt(end))) continue;
      out.push({ detector: 'ipv6', start, end });
    }
    return out;
  },
};

function plausible(addr: string): boolean {
  if (!addr.includes('::')) return true;
  const groups = addr.split(':').filter((p) => p !== '').length;
  return groups > 2 || /[0-9]/.test(addr);
}
