// Masking of server messages that can echo data (pure): an ErrorResponse or NoticeResponse
// quoting a value (`Key (email)=(jane.roe@example.com) already exists.`), and a NOTIFY payload.
//
// Wire facts:
//   ErrorResponse 'E' / NoticeResponse 'N': Int32 length, then fields of Byte1 code and a
//     cstring value, ended by a zero byte. M message, D detail, H hint, W where (context), q
//     internal query can quote values; S/V severity, C code, P/p positions, F/L/R source, s/t/c
//     schema, table and column names, d type name, n constraint name are names and codes.
//   NotificationResponse 'A': Int32 length, Int32 process id, cstring channel, cstring payload.
import type { CompiledPlan, MaskingTally } from '@agentgate/masking';

const VALUE_FIELDS = new Set(['M', 'D', 'H', 'W', 'q']);
const NOTE = { kind: 'detect', label: 'message' } as const;

function cstringEnd(raw: Buffer, from: number): number {
  const end = raw.indexOf(0, from);
  return end < 0 ? raw.length : end;
}

function frame(type: number, body: Buffer[]): Buffer {
  const length = body.reduce((n, b) => n + b.length, 4);
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeInt32BE(length, 1);
  return Buffer.concat([head, ...body]);
}

function maskText(plan: CompiledPlan, text: string, tally: MaskingTally | undefined): string | undefined {
  const r = plan.maskText(text);
  if (r.fired.length === 0) return undefined;
  tally?.record(NOTE, { value: null, masked: true, fired: r.fired });
  // A null strategy blanks the whole field: a message field cannot be absent.
  return r.text ?? '[REDACTED]';
}

/** An ErrorResponse or NoticeResponse with the plan's detectors applied to its value fields; the same Buffer when nothing matched. */
export function maskMessageFields(raw: Buffer, plan: CompiledPlan, tally?: MaskingTally): Buffer {
  const parts: Buffer[] = [];
  let changed = false;
  let at = 5;
  while (at < raw.length && raw[at] !== 0) {
    const code = String.fromCharCode(raw[at]!);
    const end = cstringEnd(raw, at + 1);
    const value = raw.toString('utf8', at + 1, end);
    const masked = VALUE_FIELDS.has(code) ? maskText(plan, value, tally) : undefined;
    if (masked === undefined) {
      parts.push(raw.subarray(at, end + 1));
    } else {
      changed = true;
      parts.push(Buffer.from(code, 'latin1'), Buffer.from(masked, 'utf8'), Buffer.alloc(1));
    }
    at = end + 1;
  }
  if (!changed) return raw;
  parts.push(Buffer.alloc(1));
  return frame(raw[0]!, parts);
}

/** A NotificationResponse with the plan's detectors applied to its payload; the same Buffer when nothing matched. */
export function maskNotification(raw: Buffer, plan: CompiledPlan, tally?: MaskingTally): Buffer {
  const channelEnd = cstringEnd(raw, 9);
  const payloadEnd = cstringEnd(raw, channelEnd + 1);
  const masked = maskText(plan, raw.toString('utf8', channelEnd + 1, payloadEnd), tally);
  if (masked === undefined) return raw;
  return frame(0x41, [raw.subarray(5, channelEnd + 1), Buffer.from(masked, 'utf8'), Buffer.alloc(1)]);
}
