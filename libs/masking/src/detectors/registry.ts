// Every detector by name, and the combined scan that resolves overlaps between them.
import { textProfile } from '../text-profile.js';
import { DETECTOR_NAMES, type Detector, type DetectorMatch, type DetectorName } from '../types.js';
import {
  awsAccessKeyIdDetector,
  awsSecretAccessKeyDetector,
  githubTokenDetector,
  slackTokenDetector,
  stripeKeyDetector,
} from './cloud-tokens.js';
import { connectionStringPasswordDetector, genericSecretAssignmentDetector, jwtDetector, pemPrivateKeyDetector } from './credentials.js';
import { cardDetector, ibanDetector } from './financial.js';
import { ipv4Detector, ipv6Detector } from './network.js';
import { emailDetector, phoneDetector, usSsnDetector } from './personal.js';

/** Every detector, by its stable name. */
export const DETECTORS: Readonly<Record<DetectorName, Detector>> = Object.freeze({
  'pem-private-key': pemPrivateKeyDetector,
  jwt: jwtDetector,
  'aws-access-key-id': awsAccessKeyIdDetector,
  'aws-secret-access-key': awsSecretAccessKeyDetector,
  'github-token': githubTokenDetector,
  'slack-token': slackTokenDetector,
  'stripe-key': stripeKeyDetector,
  'connection-string-password': connectionStringPasswordDetector,
  card: cardDetector,
  iban: ibanDetector,
  'us-ssn': usSsnDetector,
  email: emailDetector,
  phone: phoneDetector,
  ipv4: ipv4Detector,
  ipv6: ipv6Detector,
  'generic-secret-assignment': genericSecretAssignmentDetector,
});

const RANK: Readonly<Record<string, number>> = Object.fromEntries(DETECTOR_NAMES.map((n, i) => [n, i]));

/** True when `name` is a known detector name. */
export function isDetectorName(name: unknown): name is DetectorName {
  return typeof name === 'string' && Object.hasOwn(RANK, name);
}

const NO_MATCHES: readonly DetectorMatch[] = Object.freeze([]);

/**
 * Runs `detectors` over `text` and returns non-overlapping matches sorted by start.
 * Overlap rule: the longer match wins; between equal lengths the earlier start wins; between
 * equal spans the detector earlier in `DETECTOR_NAMES` wins. Masking the longer span never
 * leaves part of a secret visible. Returns one shared frozen empty array when nothing matches.
 * `profile` is `textProfile(text)`, passed by a caller that has it already.
 */
export function scan(text: string, detectors: readonly Detector[], profile: number = textProfile(text)): readonly DetectorMatch[] {
  let found: DetectorMatch[] | undefined;
  for (const d of detectors) {
    if (!d.mayMatch(profile, text.length)) continue;
    const ms = d.find(text);
    if (ms.length === 0) continue;
    if (found === undefined) found = ms;
    else for (const m of ms) found.push(m);
  }
  if (found === undefined) return NO_MATCHES;
  if (found.length === 1) return found;
  return resolveOverlaps(found);
}

function resolveOverlaps(all: DetectorMatch[]): DetectorMatch[] {
  all.sort((a, b) => b.end - b.start - (a.end - a.start) || a.start - b.start || RANK[a.detector]! - RANK[b.detector]!);
  const kept: DetectorMatch[] = [];
  for (const m of all) {
    if (!kept.some((k) => k.start < m.end && m.start < k.end)) kept.push(m);
  }
  return kept.sort((a, b) => a.start - b.start);
}
