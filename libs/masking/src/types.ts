/**
 * The detector names, in registry order. The order is also the last tie-break when two
 * detectors find spans of the same length at the same offset (see `scan`), so the specific
 * detectors come before the generic ones.
 */
export const DETECTOR_NAMES = [
  'pem-private-key',
  'jwt',
  'aws-access-key-id',
  'aws-secret-access-key',
  'github-token',
  'slack-token',
  'stripe-key',
  'connection-string-password',
  'card',
  'iban',
  'us-ssn',
  'email',
  'phone',
  'ipv4',
  'ipv6',
  'generic-secret-assignment',
] as const;

/** A stable detector name; names never change meaning once released (they travel in plans). */
export type DetectorName = (typeof DETECTOR_NAMES)[number];

/** One finding: `text.slice(start, end)` is the sensitive span (UTF-16 offsets, end exclusive). */
export interface DetectorMatch {
  readonly detector: DetectorName;
  readonly start: number;
  readonly end: number;
}

/** A detector: a cheap necessary condition on the text's profile, and the exact search. */
export interface Detector {
  readonly name: DetectorName;
  /**
   * False only when `find(text)` is certainly empty; `profile` is `textProfile(text)` and
   * `length` is `text.length`. `scan` calls it first so that most cells cost one pass over their
   * characters. It sees no more than the profile and the length so that it can also be asked
   * about bytes not decoded yet (`asciiProfile`): searches for keywords belong in `find`.
   */
  mayMatch(profile: number, length: number): boolean;
  /** Every match in `text`, sorted by start, without overlaps among themselves. */
  find(text: string): DetectorMatch[];
}
