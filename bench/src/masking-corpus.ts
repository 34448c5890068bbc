// A corpus of result cells for the masking micro-benchmark: about 95% ordinary cells (names,
// ids, timestamps, prices, short sentences) and 5% carrying a secret, generated from a fixed
// seed so every run measures the same cells.
import { mulberry32 } from '@agentgate/pg-wire/testing';

let rnd = mulberry32(42);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const int = (n: number): number => Math.floor(rnd() * n);
const hex = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[int(16)]).join('');

const FIRST = ['Jane', 'John', 'Amélie', 'Wei', 'Olu', 'María', 'Sven', 'Priya'];
const LAST = ['Roe', 'Doe', 'Dubois', 'Zhang', 'Adeyemi', 'García', 'Larsson', 'Patel'];
const STATUS = ['active', 'pending', 'shipped', 'cancelled', 'true', 'false', 'EUR', 'USD', 'de-DE'];
const WORDS = ['the', 'order', 'was', 'delivered', 'customer', 'asked', 'about', 'refund', 'next', 'week', 'invoice', 'late', 'thanks'];

const ordinary: (() => string)[] = [
  () => `${pick(FIRST)} ${pick(LAST)}`,
  () => String(1 + int(10_000_000)),
  () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`,
  () => `2024-0${1 + int(9)}-1${int(10)} 1${int(10)}:${10 + int(50)}:${10 + int(50)}.${int(1000)}+00`,
  () => `2024-0${1 + int(9)}-1${int(10)}`,
  () => `${int(1000)}.${int(100)}`,
  () => pick(STATUS),
  () => Array.from({ length: 4 + int(8) }, () => pick(WORDS)).join(' '),
  () => `SKU-${int(100000)}-${pick(['XL', 'M', 'S'])}`,
  () => `${100 + int(900)} Main St, Springfield`,
];
const secret: (() => string)[] = [
  () => `${pick(FIRST).toLowerCase()}.${pick(LAST).toLowerCase()}@example.com`,
  () => pick(['4111111111111111', '5500 0000 0000 0004', '378282246310005']),
  () => `call (415) 555-${1000 + int(9000)}`,
  () => 'DE89370400440532013000',
  () => '078-05-1120',
  () => `client ${10 + int(200)}.${int(256)}.${int(256)}.${int(256)}`,
  () => 'AKIAIOSFODNN7EXAMPLE',
  () => 'postgres://app:Hunter2Secret@db.internal:5432/app',
];

/** `n` cells, the same ones for the same `n`. */
export function maskingCorpus(n: number): string[] {
  rnd = mulberry32(42);
  return Array.from({ length: n }, () => (rnd() < 0.05 ? pick(secret) : pick(ordinary))());
}
