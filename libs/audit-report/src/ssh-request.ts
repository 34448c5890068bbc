// The SSH side of a replay: an SshRequest detail read back from a RequestObserved's payload_json
// (ssh requests leave sql_text empty; their detail lives in the payload only), and its one-line
// description for the transcript.
import { type Json, optNumber, optString } from './payload-values.js';

/** What an SSH request asked for, as recorded (SshRequest in schemas/audit-event.avsc). */
export interface TranscriptSsh {
  /** exec, shell, sftp, direct-tcpip, or another subsystem's channel. */
  channel: string;
  command: string | null;
  subsystem: string | null;
  /** SFTP operation: open-read, write, rename, ... */
  operation: string | null;
  path: string | null;
  targetPath: string | null;
  offset: number | null;
  length: number | null;
  forwardHost: string | null;
  forwardPort: number | null;
  ptyTerm: string | null;
  ptyCols: number | null;
  ptyRows: number | null;
}

/**
 * The SshRequest of a RequestObserved payload (its `detail` is the wrapped union
 * `{"agentgate.v1.SshRequest": {...}}`), or null when the detail is another kind.
 */
export function sshRequestOf(payload: Json): TranscriptSsh | null {
  const detail = payload['detail'];
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) return null;
  const entries = Object.entries(detail as Json);
  const [name, value] = entries[0] ?? [];
  if (entries.length !== 1 || (name !== 'agentgate.v1.SshRequest' && name !== 'SshRequest')) return null;
  if (value === null || typeof value !== 'object') return null;
  const d = value as Json;
  return {
    channel: optString(d['channel']) ?? '',
    command: optString(d['command']),
    subsystem: optString(d['subsystem']),
    operation: optString(d['operation']),
    path: optString(d['path']),
    targetPath: optString(d['targetPath']),
    offset: optNumber(d['offset']),
    length: optNumber(d['length']),
    forwardHost: optString(d['forwardHost']),
    forwardPort: optNumber(d['forwardPort']),
    ptyTerm: optString(d['ptyTerm']),
    ptyCols: optNumber(d['ptyCols']),
    ptyRows: optNumber(d['ptyRows']),
  };
}

/** The kind shown in a transcript's request header: the channel, `sftp <op>` for an SFTP operation. */
export function sshKind(s: TranscriptSsh): string {
  if (s.operation !== null) return `sftp ${s.operation}`;
  return s.channel === '' ? 'ssh' : s.channel;
}

/** One line saying what the request asked for: the command, the shell's pty, the SFTP path, the forward's target. */
export function sshText(s: TranscriptSsh): string {
  const pty =
    s.ptyTerm === null ? '' : ` (pty ${s.ptyTerm}${s.ptyCols !== null && s.ptyRows !== null ? ` ${s.ptyCols}x${s.ptyRows}` : ''})`;
  if (s.operation !== null) {
    const target = s.targetPath === null ? '' : ` -> ${s.targetPath}`;
    const range =
      s.offset === null && s.length === null ? '' : ` (offset ${s.offset ?? 0}${s.length === null ? '' : `, ${s.length} bytes`})`;
    return `${s.operation} ${s.path ?? '?'}${target}${range}`;
  }
  if (s.command !== null) return `${s.command}${pty}`;
  if (s.forwardHost !== null || s.forwardPort !== null) return `${s.channel} ${s.forwardHost ?? '?'}:${s.forwardPort ?? '?'}`;
  if (s.subsystem !== null) return `subsystem ${s.subsystem}`;
  return `${s.channel === '' ? 'ssh' : s.channel}${pty}`;
}
