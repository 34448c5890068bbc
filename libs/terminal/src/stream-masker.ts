// Masks a byte stream (an SSH channel's output or input) with a compiled plan's detectors,
// chunk by chunk, so that a value split over two chunks is still masked.
//
// Bytes are read as latin1 (one byte, one char) and written back the same way: the detectors'
// patterns are ASCII, and a byte no match covers comes out exactly as it went in (binary output
// passes unchanged, and so does UTF-8, whose multi-byte sequences never look like ASCII).
//
// Hold-back rule. `held` is the text not released yet; `context` the last CONTEXT_CHARS chars
// released (raw), scanned again in front of `held` so that a keyword released earlier still
// finds its value (`aws_secret_access_key = ...`) and a value begun before a cut is still seen.
// On push, the cut `c` (everything before it is released, masked) is the largest index with:
//   1. c <= held.length - TAIL_CHARS: every bounded pattern (card, IBAN, SSN, phone, AWS key id,
//      an e-mail of ordinary length) with its look-around fits in TAIL_CHARS, so a match that
//      could still grow with future bytes starts after c;
//   2. c is not inside a token: a run of non-blank bytes, or digit groups joined by single spaces
//      (`4111 1111 ...`). The unbounded patterns (JWT, Slack, Stripe, URI passwords, e-mail,
//      long digit runs) are tokens, so a token is held whole, however long, up to maxHoldBytes;
//   3. c is not inside a match found in context + held (a match is masked whole or held whole);
//   4. c is not after the start of an open PEM private key block (BEGIN seen, END not yet): the
//      block is held until its END line; past maxHoldBytes it is replaced by one redaction
//      marker and everything up to its END line is dropped: never released raw.
// When rules 1-3 would hold more than maxHoldBytes (a long run without blanks), the cut is
// forced to held.length - TAIL_CHARS and a match it splits has its released part redacted; its
// rest is then found again starting in the context and redacted too.
// flush() (idle terminal) releases everything but an open PEM block; end() releases all.
import {
  type CompiledPlan,
  type Detector,
  DETECTORS,
  type DetectorMatch,
  type DetectorName,
  partialMask,
  redactionMarker,
  scan,
} from '@agentgate/masking';

/** Chars held back at the end of the stream so that a bounded pattern is always seen whole. */
export const TAIL_CHARS = 128;
/** Chars of released text scanned again before the held text (look-behind and keywords). */
export const CONTEXT_CHARS = 256;
/** Default for `maxHoldBytes`: more than a PEM RSA 8192-bit key. */
export const DEFAULT_MAX_HOLD_BYTES = 16 * 1024;

export interface StreamMaskerOptions {
  /** The most bytes held back before a cut is forced (an open PEM block is redacted instead). */
  readonly maxHoldBytes?: number;
}

const PEM_BEGIN = /-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?)PRIVATE KEY-----/g;
const PEM = 'pem-private-key';

function isBlank(code: number): boolean {
  return code <= 0x20 || code === 0x7f;
}

function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

// True when the chars before and at `i` belong to one token (rule 2).
function joined(s: string, i: number): boolean {
  const before = s.charCodeAt(i - 1);
  const at = s.charCodeAt(i);
  if (!isBlank(before) && !isBlank(at)) return true;
  // a single space between digits: `4111 1111`, seen from either side of the space
  if (at === 32) return isDigit(before) && isDigit(s.charCodeAt(i + 1));
  if (before === 32) return isDigit(at) && isDigit(s.charCodeAt(i - 2));
  return false;
}

/** Masks a byte stream across chunk boundaries; see the hold-back rule at the top of this file. */
export class StreamMasker {
  private readonly plan: CompiledPlan;
  private readonly detectors: readonly Detector[];
  private readonly maxHold: number;
  private held = '';
  private context = '';
  /** Set while dropping a redacted PEM block: its END line, and the last chars dropped. */
  private skipping: { endLine: string; carry: string } | null = null;
  private readonly tally = new Map<string, number>();

  constructor(plan: CompiledPlan, options: StreamMaskerOptions = {}) {
    this.plan = plan;
    this.detectors = plan.plan.detectors.map((n) => DETECTORS[n]);
    this.maxHold = Math.max(options.maxHoldBytes ?? DEFAULT_MAX_HOLD_BYTES, 2 * TAIL_CHARS);
  }

  /** Masked bytes that are safe to release now; the tail that could be the start of a match is held back. */
  push(chunk: Uint8Array): Buffer {
    let text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    let out = '';
    if (this.skipping !== null) {
      text = this.skip(text);
      if (this.skipping !== null) return Buffer.alloc(0);
    }
    this.held += text;
    out += this.release('push');
    return Buffer.from(out, 'latin1');
  }

  /** Releases everything held (masked) but an open PEM block: call it when an interactive terminal has been idle for a tick. */
  flush(): Buffer {
    return Buffer.from(this.release('flush'), 'latin1');
  }

  /** Releases everything held, masked; an open PEM block is redacted. Call it at the end of the stream. */
  end(): Buffer {
    const out = this.release('end');
    this.skipping = null;
    return Buffer.from(out, 'latin1');
  }

  /** How many bytes are held back now (a caller may arm its idle tick when this is not 0). */
  heldBytes(): number {
    return this.held.length;
  }

  /** Values masked so far, `detector:<name>` -> count (the MaskingTally keys, sorted); each masked span counts once. */
  counts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const k of [...this.tally.keys()].sort()) out[k] = this.tally.get(k) ?? 0;
    return out;
  }

  // Drops text up to and including the END line of a redacted PEM block; returns what follows it.
  private skip(text: string): string {
    const s = this.skipping;
    if (s === null) return text;
    const joinedText = s.carry + text;
    const at = joinedText.indexOf(s.endLine);
    if (at < 0) {
      s.carry = joinedText.slice(-(s.endLine.length - 1));
      return '';
    }
    this.skipping = null;
    // the dropped text is not context: nothing of it was released
    this.context = '';
    return joinedText.slice(at + s.endLine.length);
  }

  private count(detector: DetectorName): void {
    const key = `detector:${detector}`;
    this.tally.set(key, (this.tally.get(key) ?? 0) + 1);
  }

  // The start (in `held`) of an open PEM block and its END line, or undefined.
  private openPem(scanned: string, offset: number): { start: number; endLine: string } | undefined {
    if (!this.plan.plan.detectors.includes(PEM)) return undefined;
    PEM_BEGIN.lastIndex = 0;
    let open: { start: number; endLine: string } | undefined;
    for (let m = PEM_BEGIN.exec(scanned); m !== null; m = PEM_BEGIN.exec(scanned)) {
      const endLine = `-----END ${m[1]}PRIVATE KEY-----`;
      const e = scanned.indexOf(endLine, m.index + m[0].length);
      if (e < 0) {
        open = { start: Math.max(0, m.index - offset), endLine };
        break;
      }
      PEM_BEGIN.lastIndex = e + endLine.length;
    }
    return open;
  }

  private release(mode: 'push' | 'flush' | 'end'): string {
    if (this.held === '') return '';
    const held = this.held;
    const scanned = this.context + held;
    const offset = this.context.length;
    const pem = mode === 'end' ? undefined : this.openPem(scanned, offset);
    if (pem !== undefined && held.length - pem.start > this.maxHold) {
      // Past maxHoldBytes: the block becomes one marker, and the rest of it is dropped.
      const before = this.emit(held.slice(0, pem.start), pem.start);
      this.count(PEM);
      this.held = '';
      this.context = '';
      this.skipping = { endLine: pem.endLine, carry: '' };
      return before + redactionMarker(PEM);
    }
    const matches = scan(scanned, this.detectors).map((m) => ({ ...m, start: m.start - offset, end: m.end - offset }));
    let cut = mode === 'push' ? held.length - TAIL_CHARS : held.length;
    if (mode === 'push') while (cut > 0 && joined(held, cut)) cut--;
    if (pem !== undefined) cut = Math.min(cut, pem.start);
    cut = Math.max(cut, 0);
    for (let moved = true; moved; ) {
      moved = false;
      for (const m of matches) {
        if (m.start < cut && cut < m.end) {
          cut = Math.max(m.start, 0);
          moved = cut > 0;
        }
      }
    }
    if (mode === 'push' && held.length - cut > this.maxHold) cut = Math.min(held.length - TAIL_CHARS, pem?.start ?? held.length);
    if (cut <= 0) return '';
    return this.emitWith(held, cut, matches);
  }

  // Releases held[0, cut) masked by `matches` (offsets in `held`), and keeps the rest.
  private emitWith(held: string, cut: number, matches: readonly DetectorMatch[]): string {
    let out = '';
    let at = 0;
    for (const m of matches) {
      if (m.end <= 0 || m.start >= cut) continue;
      const start = Math.max(m.start, 0);
      const end = Math.min(m.end, cut);
      out += held.slice(at, start);
      // A match begun before the last cut or split by a forced cut: what is released of it is
      // part of a secret, and half a secret is still one.
      out += m.start < 0 || m.end > cut ? redactionMarker(m.detector) : this.maskSpan(m.detector, held.slice(start, end));
      this.count(m.detector);
      at = end;
    }
    out += held.slice(at, cut);
    this.context = (this.context + held.slice(0, cut)).slice(-CONTEXT_CHARS);
    this.held = held.slice(cut);
    return out;
  }

  // Releases `text` (the part of held before an open PEM block), scanning it with its context.
  private emit(text: string, cut: number): string {
    if (cut <= 0) return '';
    const offset = this.context.length;
    const matches = scan(this.context + text, this.detectors).map((m) => ({ ...m, start: m.start - offset, end: m.end - offset }));
    return this.emitWith(text, cut, matches);
  }

  // One matched span, masked with the plan's strategy for its detector. The plan's maskText
  // applies it when the span alone is still detected (cards, e-mails, tokens, ...); a span
  // detected only with its surroundings (a password after `password=`) gets the strategy here:
  // `partial` as the plan says, anything else the redaction marker (a stream has no NULL, and
  // tokens need the plan's key, which only maskText holds).
  private maskSpan(detector: DetectorName, span: string): string {
    const r = this.plan.maskText(span);
    if (r.text !== null && r.fired.includes(detector) && r.text !== span) return r.text;
    const strategy = this.plan.plan.detectorStrategies?.[detector] ?? this.plan.plan.defaultDetectorStrategy;
    if (strategy.kind === 'partial') return partialMask(span, strategy.keep);
    return redactionMarker(detector);
  }
}
