// Vendor credentials with a recognisable shape: AWS, GitHub, Slack, Stripe.
import { HAS_DASH, HAS_SLASH, HAS_UNDERSCORE, lowerCount, upperCount } from '../text-profile.js';
import type { Detector, DetectorMatch, DetectorName } from '../types.js';

function collect(re: RegExp, text: string, detector: DetectorName, accept?: (m: RegExpExecArray) => boolean): DetectorMatch[] {
  const out: DetectorMatch[] = [];
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (accept && !accept(m)) continue;
    out.push({ detector, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

const AWS_KEY_ID = /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])/g;

/** AWS access key ids: AKIA/ASIA/ABIA/ACCA and 16 base32 characters, as a whole word. */
export const awsAccessKeyIdDetector: Detector = {
  name: 'aws-access-key-id',
  mayMatch: (profile, length) => length >= 20 && upperCount(profile) >= 4,
  find: (text) => collect(AWS_KEY_ID, text, 'aws-access-key-id'),
};

const AWS_SECRET_KEYWORD = /secret[_-]?access[_-]?key/gi;
const AWS_SECRET_VALUE = /(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/;
/** How far after its keyword a secret access key may start (quotes, `=`, `:`, spaces). */
const AWS_SECRET_GAP = 40;

/**
 * AWS secret access keys: exactly 40 characters of [A-Za-z0-9/+] with at least two of lower,
 * upper, digit, and only within 40 characters after a keyword (`aws_secret_access_key`,
 * `secret_access_key`, `SecretAccessKey`): 40 base64 characters alone are far too common.
 */
export const awsSecretAccessKeyDetector: Detector = {
  name: 'aws-secret-access-key',
  mayMatch: (_profile, length) => length >= 55,
  find(text) {
    const out: DetectorMatch[] = [];
    AWS_SECRET_KEYWORD.lastIndex = 0;
    for (let k = AWS_SECRET_KEYWORD.exec(text); k !== null; k = AWS_SECRET_KEYWORD.exec(text)) {
      const from = k.index + k[0].length;
      const window = text.slice(from, from + AWS_SECRET_GAP + 41);
      const v = AWS_SECRET_VALUE.exec(window);
      if (!v || v.index > AWS_SECRET_GAP || classes(v[0]) < 2) continue;
      const start = from + v.index;
      if (out.length > 0 && out[out.length - 1]!.start === start) continue;
      out.push({ detector: 'aws-secret-access-key', start, end: start + 40 });
      AWS_SECRET_KEYWORD.lastIndex = start + 40;
    }
    return out;
  },
};

/** How many of the classes lower-case, upper-case, digit occur in `s`. */
export function classes(s: string): number {
  return (/[a-z]/.test(s) ? 1 : 0) + (/[A-Z]/.test(s) ? 1 : 0) + (/[0-9]/.test(s) ? 1 : 0);
}

const GITHUB = /(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})(?![A-Za-z0-9_])/g;

/** GitHub tokens: `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` and 36 alphanumerics; fine-grained `github_pat_` and 82. */
export const githubTokenDetector: Detector = {
  name: 'github-token',
  mayMatch: (profile, length) => (profile & HAS_UNDERSCORE) !== 0 && length >= 40,
  find: (text) => (text.includes('gh') || text.includes('github_pat_') ? collect(GITHUB, text, 'github-token') : []),
};

const SLACK_TOKEN = /(?<![A-Za-z0-9-])xox[baprs]-[0-9A-Za-z-]{10,}/g;
const SLACK_WEBHOOK = /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]{6,12}\/B[A-Z0-9]{6,12}\/[A-Za-z0-9]{16,32}(?![A-Za-z0-9])/g;

/**
 * Slack tokens (`xoxb-`, `xoxa-`, `xoxp-`, `xoxr-`, `xoxs-` and at least 10 more characters
 * including a digit) and incoming-webhook URLs (`https://hooks.slack.com/services/T…/B…/…`).
 */
export const slackTokenDetector: Detector = {
  name: 'slack-token',
  // A token has `-`, the four lower-case letters of `xox?` and 15 characters at least; the
  // shortest webhook URL has 65 characters.
  mayMatch: (profile, length) =>
    ((profile & HAS_DASH) !== 0 && lowerCount(profile) >= 4 && length >= 15) || ((profile & HAS_SLASH) !== 0 && length >= 65),
  find(text) {
    // The keywords first: the expressions below cost more than two substring searches.
    const tokens = text.includes('xox') ? collect(SLACK_TOKEN, text, 'slack-token', (m) => /[0-9]/.test(m[0].slice(5))) : [];
    const hooks = text.includes('hooks.slack.com') ? collect(SLACK_WEBHOOK, text, 'slack-token') : [];
    if (hooks.length === 0) return tokens;
    return [...tokens, ...hooks].sort((a, b) => a.start - b.start);
  },
};

const STRIPE = /(?<![A-Za-z0-9_])(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}(?![0-9A-Za-z])/g;

/** Stripe API keys: secret `sk_`, restricted `rk_` and publishable `pk_`, live or test, 16+ alphanumerics. */
export const stripeKeyDetector: Detector = {
  name: 'stripe-key',
  mayMatch: (profile, length) => (profile & HAS_UNDERSCORE) !== 0 && length >= 24,
  find: (text) => (text.includes('_live_') || text.includes('_test_') ? collect(STRIPE, text, 'stripe-key') : []),
};
