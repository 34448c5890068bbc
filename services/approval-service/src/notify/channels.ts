// The notification channels file: where approval requests are announced. Parsed and checked
// once at startup (secrets read then, never again), so a bad file stops the service with one
// message naming every problem instead of failing silently at the first approval.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { inspect } from 'node:util';
import { GatewayError } from '@agentgate/errors';

export type ChannelFormat = 'slack' | 'json';

/** A channel secret: the bytes are reachable only through `bytes()`, so logging or serialising a channel cannot show them. */
export class ChannelSecret {
  readonly #bytes: Buffer;
  constructor(bytes: Buffer) {
    this.#bytes = Buffer.from(bytes);
  }
  bytes(): Buffer {
    return this.#bytes;
  }
  toJSON(): string {
    return '[redacted]';
  }
  toString(): string {
    return '[redacted]';
  }
  [inspect.custom](): string {
    return 'ChannelSecret([redacted])';
  }
}

/** One checked channel. `url` may carry a secret (Slack's webhook path): log `origin` only. */
export interface Channel {
  readonly name: string;
  readonly url: string;
  readonly origin: string;
  readonly format: ChannelFormat;
  /** HMAC key; always set for `json`, optional for `slack`. */
  readonly secret: ChannelSecret | null;
  readonly timeoutMs: number;
}

/** The channels by name; empty when no file is configured. */
export type ChannelSet = ReadonlyMap<string, Channel>;

export const CHANNEL_NAME = /^[a-z0-9][a-z0-9-]*$/;
export const MIN_SECRET_BYTES = 16;
export const DEFAULT_TIMEOUT_MS = 5000;
const TIMEOUT_RANGE = { min: 10, max: 60_000 } as const;
const CHANNEL_KEYS = new Set(['url', 'format', 'secretFile', 'timeoutMs']);

/** Reads a secret file; injected so parsing can be tested without files. */
export type SecretReader = (absolutePath: string) => Buffer;

/** How a secret file is found and read. */
export interface ParseOptions {
  /** Relative `secretFile` paths resolve against this directory (the channels file's). */
  baseDir: string;
  readSecret: SecretReader;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkUrl(value: unknown, at: string, problems: string[]): { url: string; origin: string } | undefined {
  if (typeof value !== 'string' || value === '') {
    problems.push(`${at}.url must be a non-empty string`);
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // Not echoed: the value may be a Slack webhook URL, whose path is its secret.
    problems.push(`${at}.url is not a valid URL`);
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`${at}.url must be http or https (got ${url.protocol.replace(/:$/, '')})`);
    return undefined;
  }
  return { url: url.href, origin: url.origin };
}

function readSecretFile(file: unknown, at: string, options: ParseOptions, problems: string[]): ChannelSecret | undefined {
  if (typeof file !== 'string' || file === '') {
    problems.push(`${at}.secretFile must be a non-empty string`);
    return undefined;
  }
  const path = isAbsolute(file) ? file : resolve(options.baseDir, file);
  let raw: Buffer;
  try {
    raw = options.readSecret(path);
  } catch (cause) {
    problems.push(`${at}.secretFile ${path} cannot be read (${(cause as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  // A trailing newline is how editors and `echo` end files; it is not part of the key.
  let end = raw.length;
  while (end > 0 && (raw[end - 1] === 0x0a || raw[end - 1] === 0x0d)) end--;
  if (end < MIN_SECRET_BYTES) {
    problems.push(`${at}.secretFile ${path} holds ${end} bytes; a secret needs at least ${MIN_SECRET_BYTES}`);
    return undefined;
  }
  return new ChannelSecret(raw.subarray(0, end));
}

function checkChannel(name: string, spec: unknown, options: ParseOptions, problems: string[]): Channel | undefined {
  const at = `channels.${name}`;
  const before = problems.length;
  if (!CHANNEL_NAME.test(name)) problems.push(`channel name ${JSON.stringify(name)} must match ${CHANNEL_NAME.source}`);
  if (!isRecord(spec)) {
    problems.push(`${at} must be an object`);
    return undefined;
  }
  for (const key of Object.keys(spec)) {
    if (!CHANNEL_KEYS.has(key)) problems.push(`${at}.${key} is not a channel setting (known: ${[...CHANNEL_KEYS].join(', ')})`);
  }
  const target = checkUrl(spec['url'], at, problems);
  const format = spec['format'];
  if (format !== 'slack' && format !== 'json') problems.push(`${at}.format must be "slack" or "json"`);
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (spec['timeoutMs'] !== undefined) {
    const t = spec['timeoutMs'];
    if (typeof t !== 'number' || !Number.isInteger(t) || t < TIMEOUT_RANGE.min || t > TIMEOUT_RANGE.max) {
      problems.push(`${at}.timeoutMs must be an integer from ${TIMEOUT_RANGE.min} to ${TIMEOUT_RANGE.max}`);
    } else {
      timeoutMs = t;
    }
  }
  let secret: ChannelSecret | null = null;
  if (spec['secretFile'] !== undefined) {
    secret = readSecretFile(spec['secretFile'], at, options, problems) ?? null;
  } else if (format === 'json') {
    // An unsigned JSON webhook would let anyone who finds the receiver forge approval requests.
    problems.push(`${at}.secretFile is required for format "json" (requests are signed with it)`);
  }
  if (problems.length > before || target === undefined || (format !== 'slack' && format !== 'json')) return undefined;
  return Object.freeze({ name, url: target.url, origin: target.origin, format, secret, timeoutMs });
}

/**
 * Checks a parsed channels document; throws AG_ERR_CONFIG_INVALID naming every problem.
 * `source` names the file in messages.
 */
export function parseChannels(doc: unknown, source: string, options: ParseOptions): ChannelSet {
  const problems: string[] = [];
  const channels = new Map<string, Channel>();
  if (!isRecord(doc) || !isRecord(doc['channels'])) {
    problems.push('the file must hold an object { "channels": { "<name>": { ... } } }');
  } else {
    for (const key of Object.keys(doc)) {
      if (key !== 'channels') problems.push(`${key} is not a top-level setting (known: channels)`);
    }
    for (const [name, spec] of Object.entries(doc['channels'])) {
      const channel = checkChannel(name, spec, options, problems);
      if (channel !== undefined) channels.set(name, channel);
    }
  }
  if (problems.length > 0) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `invalid notification channels file ${source}: ${problems.join('; ')}`);
  }
  return channels;
}

/** Reads and checks the channels file; `undefined` means no channels. Throws AG_ERR_CONFIG_INVALID. */
export function loadChannels(file: string | undefined): ChannelSet {
  if (file === undefined) return new Map();
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new GatewayError(
      'AG_ERR_CONFIG_INVALID',
      `cannot read the notification channels file ${file} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause },
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // No cause: JSON.parse quotes the text around the error, which may be a webhook URL.
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `the notification channels file ${file} is not valid JSON`);
  }
  return parseChannels(doc, file, { baseDir: dirname(resolve(file)), readSecret: (path) => readFileSync(path) });
}
