// `agentgate verify-chain`: recomputes the per-session hash chains stored in ClickHouse.
// An auditor reads the exit code, so "nothing was checked" must never look like a pass.
import { quoteIdentifier, quoteString, quoteUInt } from '@agentgate/clickhouse';
import { verifyStoredChain } from '@agentgate/events';
import type { AuditReader } from './backends.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { printJson, type CliIo } from './output.js';

export interface VerifyChainOptions {
  session: string | undefined;
  limit: number;
  json: boolean;
}

export interface StoredRow {
  session_id: string;
  seq: string;
  hash: string;
  prev_hash: string;
  canonical_text: string;
}

export interface BrokenChain {
  session_id: string;
  at_seq: number;
  reason: string;
  code: string;
}

/** The outcome, as --json prints it. */
export interface ChainReport {
  /** Sessions whose chain was recomputed. */
  checked: number;
  verified: number;
  broken: BrokenChain[];
  /** What was asked for: one session, or the most recent `limit` sessions. */
  scope: { session: string } | { most_recent: number };
  /** True only when at least one chain was checked and none is broken. */
  ok: boolean;
}

/** The query: one session, or the `limit` most recently active ones; values quoted by @agentgate/clickhouse. */
export function chainQuery(database: string, options: Pick<VerifyChainOptions, 'session' | 'limit'>): string {
  const db = quoteIdentifier(database);
  const filter =
    options.session !== undefined
      ? `WHERE session_id = ${quoteString(options.session)}`
      : `WHERE session_id IN (SELECT session_id FROM ${db}.events GROUP BY session_id ORDER BY max(time_us) DESC LIMIT ${quoteUInt(options.limit)})`;
  return `SELECT session_id, seq, hash, prev_hash, canonical_text FROM ${db}.events ${filter} ORDER BY session_id, seq`;
}

/** Groups rows by session and verifies each chain. Pure. */
export function verifyChains(rows: readonly StoredRow[], scope: ChainReport['scope']): ChainReport {
  const bySession = new Map<string, StoredRow[]>();
  for (const row of rows) {
    const list = bySession.get(row.session_id) ?? [];
    list.push(row);
    bySession.set(row.session_id, list);
  }
  const broken: BrokenChain[] = [];
  for (const [sessionId, list] of bySession) {
    const result = verifyStoredChain(
      list.map((x) => ({ seq: Number(x.seq), hash: x.hash, prevHash: x.prev_hash || null, canonicalText: x.canonical_text })),
    );
    if (!result.ok) broken.push({ session_id: sessionId, at_seq: result.atSeq, reason: result.reason, code: result.code });
  }
  const checked = bySession.size;
  return { checked, verified: checked - broken.length, broken, scope, ok: checked > 0 && broken.length === 0 };
}

/** 0 all verify, 1 any broken, 3 nothing matched. */
export function exitCodeOf(report: ChainReport): ExitCode {
  if (report.checked === 0) return EXIT.nothingMatched;
  return report.broken.length === 0 ? EXIT.ok : EXIT.failure;
}

/** The human summary; the totals are always explicit. */
export function summaryLines(report: ChainReport): string[] {
  const what =
    'session' in report.scope ? `session ${report.scope.session}` : `up to the ${report.scope.most_recent} most recently active sessions`;
  if (report.checked === 0) {
    return [`NOTHING VERIFIED: no events found for ${what}; 0 session chains were checked`];
  }
  return [
    ...report.broken.map((b) => `BROKEN  ${b.session_id}  at seq ${b.at_seq}: ${b.reason} (${b.code})`),
    `${report.verified} of ${report.checked} session chains verify (${report.checked} checked in total, ${report.broken.length} broken; scope: ${what})`,
  ];
}

export async function verifyChain(audit: AuditReader, database: string, options: VerifyChainOptions, io: CliIo): Promise<number> {
  const rows = await audit.rows<StoredRow>(chainQuery(database, options));
  const report = verifyChains(rows, options.session !== undefined ? { session: options.session } : { most_recent: options.limit });
  const lines = summaryLines(report);
  if (options.json) {
    printJson(io, report);
    // The JSON carries the verdict; a person watching stderr still sees why the exit code is 3.
    if (report.checked === 0) io.err(`${lines[0]}\n`);
  } else if (report.checked === 0) {
    io.err(`${lines[0]}\n`);
  } else {
    io.out(lines.map((l) => `${l}\n`).join(''));
  }
  return exitCodeOf(report);
}
