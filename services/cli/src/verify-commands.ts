// `agentgate verify` and `agentgate export`: the audit log's tamper evidence, checked online
// from ClickHouse or offline from an export file. The checks are @agentgate/audit-verify's
// (pure); this module reads rows, keys and files and prints. Like verify-chain, an auditor
// reads the exit code, so "nothing was checked" (3) never looks like a pass (0).
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { finished } from 'node:stream/promises';
import { type Command, InvalidArgumentError } from 'commander';
import {
  createExportReader,
  exportLines,
  parseTrustedKeys,
  readScopeRows,
  verifyAudit,
  verifyStored,
  type FindingKind,
  type VerificationReport,
} from '@agentgate/audit-verify';
import { GatewayError, isGatewayError } from '@agentgate/errors';
import type { AuditReader } from './backends.js';
import type { CliConfig } from './config.js';
import { EXIT, describeFailure, type ExitCode } from './exit-codes.js';
import { printJson, type CliIo } from './output.js';
import { parseTime } from './policy-replay.js';

export interface VerifyCommandContext {
  io: CliIo;
  configOf(): Readonly<CliConfig>;
  withAudit(run: (audit: AuditReader) => Promise<number>): Promise<number>;
  setExit(code: number): void;
  /** The clock relative times (24h) count back from; Date.now by default. */
  now?: () => number;
  /** File access, injectable for tests; node:fs by default. Exports go line by line: they can outgrow one string. */
  readText?: (path: string) => Promise<string>;
  readLines?: (path: string) => AsyncIterable<string>;
  writeLines?: (path: string, lines: Iterable<string>) => Promise<void>;
}

/** The lines of a file, without their newlines. */
function fileLines(path: string): AsyncIterable<string> {
  return createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Number.POSITIVE_INFINITY });
}

/** Writes lines to a file, waiting whenever the stream asks to. */
async function writeFileLines(path: string, lines: Iterable<string>): Promise<void> {
  const out = createWriteStream(path, 'utf8');
  for (const line of lines) {
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await finished(out);
}

/** An export file's header and rows; a file that cannot be read is a configuration error, a malformed one AG_ERR_EXPORT_INVALID. */
export async function readExportFile(lines: (path: string) => AsyncIterable<string>, path: string) {
  const reader = createExportReader();
  try {
    for await (const line of lines(path)) reader.line(line);
  } catch (cause) {
    if (isGatewayError(cause)) throw cause;
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `cannot read the export file at ${path} (check --file)`, { cause });
  }
  return reader.end();
}

/** 0 verified clean, 1 any failure finding, 3 nothing checked. */
export function verifyExitCode(report: VerificationReport): ExitCode {
  if (report.eventsChecked === 0) return EXIT.nothingMatched;
  return report.ok ? EXIT.ok : EXIT.failure;
}

function findingLine(f: VerificationReport['findings'][number]): string {
  const where = `session ${f.sessionId}${f.seq !== undefined ? ` seq ${f.seq}` : ''}${f.column !== undefined ? ` column ${f.column}` : ''}`;
  return `${f.kind.toUpperCase()} ${where}: ${f.detail}`;
}

/** The human output: one line per finding, then the totals (always explicit). */
export function verifyLines(report: VerificationReport): string[] {
  const scope = report.since === null ? 'everything stored' : `sessions active since ${report.since}`;
  if (report.eventsChecked === 0) return [`NOTHING VERIFIED: no events found (scope: ${scope}); 0 events were checked`];
  const counts = new Map<FindingKind, number>();
  for (const f of report.findings) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
  // uncovered (not yet signed) and pruned (removed by retention, on record) are not failures.
  const failures = [...counts].filter(([kind]) => kind !== 'uncovered' && kind !== 'pruned');
  const failed = failures.reduce((n, [, c]) => n + c, 0);
  const valid = report.checkpoints.filter((c) => c.valid).length;
  const uncovered = counts.get('uncovered') ?? 0;
  return [
    ...report.findings.map(findingLine),
    `${report.ok ? 'OK' : 'FAILED'}: ${report.eventsChecked} events in ${report.sessionsChecked} sessions checked, ` +
      `${report.checkpoints.length} checkpoints (${valid} signatures valid against ${report.trustedKeys.length} trusted keys); ` +
      (failed === 0 ? 'no finding' : `${failed} findings (${failures.map(([k, c]) => `${k} ${c}`).join(', ')})`) +
      (uncovered > 0 ? `; ${uncovered} sessions have events no checkpoint signed yet` : '') +
      `; scope: ${scope}`,
  ];
}

/** Prints the report (human or --json) and returns the exit code. */
export function printVerification(report: VerificationReport, json: boolean, io: CliIo): ExitCode {
  const lines = verifyLines(report);
  if (json) {
    printJson(io, report);
    // The JSON carries the verdict; a person watching stderr still sees why the exit code is 3.
    if (report.eventsChecked === 0) io.err(`${lines[0]}\n`);
  } else if (report.eventsChecked === 0) {
    io.err(`${lines[0]}\n`);
  } else {
    io.out(lines.map((l) => `${l}\n`).join(''));
  }
  return verifyExitCode(report);
}

async function readConfigFile(read: (path: string) => Promise<string>, path: string, what: string, hint: string): Promise<string> {
  try {
    return await read(path);
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `cannot read ${what} at ${path} (${hint})`, { cause });
  }
}

interface VerifyFlags {
  since?: string;
  file?: string;
  keys?: string;
  json?: boolean;
}

interface ExportFlags {
  since: string;
  until?: string;
  out: string;
  json?: boolean;
}

/** Adds `verify` and `export` to the program. */
export function registerVerify(program: Command, ctx: VerifyCommandContext): void {
  const now = ctx.now ?? Date.now;
  const readText = ctx.readText ?? ((path: string) => readFile(path, 'utf8'));
  const readLines = ctx.readLines ?? fileLines;
  const writeLines = ctx.writeLines ?? writeFileLines;
  // Checked when parsed, so a bad time is a usage error (exit 2) before anything is read.
  const time = (flag: string) => (value: string) => {
    try {
      return new Date(Math.floor(parseTime(value, now()) / 1000)).toISOString();
    } catch {
      throw new InvalidArgumentError(`${flag} must be an ISO 8601 time or a duration back from now (30m, 24h, 7d).`);
    }
  };
  const guarded = async (name: string, run: () => Promise<number>): Promise<void> => {
    try {
      ctx.setExit(await run());
    } catch (error) {
      const { exitCode, text } = describeFailure(name, error);
      ctx.io.err(text);
      ctx.setExit(isGatewayError(error, 'AG_ERR_EXPORT_INVALID') ? EXIT.failure : exitCode);
    }
  };

  program
    .command('verify')
    .description('verify the audit log: hash chains, projected columns, signed checkpoints (online, or offline from an export)')
    .helpOption('-h, --help', 'show help for this command')
    .showHelpAfterError('(run `agentgate verify --help` for usage)')
    .option(
      '--since <time>',
      'sessions with events at or after this time (ISO 8601, or 30m, 24h, 7d ago); default: everything',
      time('--since'),
    )
    .option('--file <export.jsonl>', 'verify an export file (agentgate export) instead of ClickHouse: no stack needed')
    .option('--keys <keys.json>', 'trusted checkpoint public keys (default: AG_CHECKPOINT_KEYS_FILE, else .stack/run/checkpoint-keys.json)')
    .option('--json', 'print one JSON document on stdout and nothing else: the verification report')
    .addHelpText(
      'after',
      '\nExamples:\n  npx agentgate verify --since 24h\n  npx agentgate verify --file audit-2026-11.jsonl --keys deploy/checkpoint-keys.json --json\n\n' +
        'Names every changed, missing, truncated or reordered event by session and seq, every projected column\n' +
        'that differs from its hashed event, every checkpoint whose signature or link fails, and every session a\n' +
        'checkpoint signed that is gone. UNCOVERED lines are events newer than the latest checkpoint (not a failure).\n' +
        'Exit codes: 0 verified clean, 1 a finding (or a malformed export), 2 usage or configuration, 3 nothing checked.\n',
    )
    .action((o: VerifyFlags) =>
      guarded('verify', async () => {
        const config = ctx.configOf();
        const keysPath = o.keys ?? config.checkpointKeysFile;
        const hint = o.keys !== undefined ? 'check --keys' : 'set AG_CHECKPOINT_KEYS_FILE or --keys';
        const trustedKeys = parseTrustedKeys(await readConfigFile(readText, keysPath, 'the trusted checkpoint keys', hint), keysPath);
        if (o.file !== undefined) {
          const { header, rows } = await readExportFile(readLines, o.file);
          return printVerification(verifyAudit({ since: o.since ?? header.since, rows, trustedKeys }), o.json === true, ctx.io);
        }
        const since = o.since ?? null;
        return ctx.withAudit(async (audit) => {
          const scope = { sinceUs: since === null ? null : Date.parse(since) * 1000, untilUs: null };
          const report = await verifyStored((sql) => audit.rows(sql), config.clickhouseDatabase, scope, trustedKeys);
          return printVerification(report, o.json === true, ctx.io);
        });
      }),
    );

  program
    .command('export')
    .description('export the audit rows of a time range (with every checkpoint) to a file that verifies offline')
    .helpOption('-h, --help', 'show help for this command')
    .showHelpAfterError('(run `agentgate export --help` for usage)')
    .requiredOption('--since <time>', 'sessions with events at or after this time (ISO 8601, or 30m, 24h, 7d ago)', time('--since'))
    .option('--until <time>', 'and before this time (default: now)', time('--until'))
    .requiredOption('--out <file>', 'the export file to write (JSON Lines)')
    .option('--json', 'print one JSON document on stdout and nothing else: what was written')
    .addHelpText(
      'after',
      '\nExamples:\n  npx agentgate export --since 7d --out audit.jsonl\n  npx agentgate verify --file audit.jsonl --keys deploy/checkpoint-keys.json\n\n' +
        'Whole sessions are exported (all their events, so their chains verify), with every checkpoint row.\n' +
        'Exit codes: 0 written, 1 failure, 2 usage or configuration, 3 nothing to export (the file is still written).\n',
    )
    .action((o: ExportFlags) =>
      guarded('export', () =>
        ctx.withAudit(async (audit) => {
          const config = ctx.configOf();
          const scope = { sinceUs: Date.parse(o.since) * 1000, untilUs: o.until === undefined ? null : Date.parse(o.until) * 1000 };
          const rows = await readScopeRows((sql) => audit.rows(sql), config.clickhouseDatabase, scope);
          const exportedAt = new Date(now()).toISOString();
          await writeLines(o.out, exportLines({ since: o.since, until: o.until ?? null, exportedAt, rows }));
          const checkpointRows = rows.filter((r) => r.session_id.startsWith('checkpoint/')).length;
          const sessions = new Set(rows.filter((r) => !r.session_id.startsWith('checkpoint/')).map((r) => r.session_id)).size;
          const line = `exported ${rows.length} rows (${sessions} sessions, ${checkpointRows} checkpoint rows) to ${o.out}\n`;
          if (o.json === true) {
            printJson(ctx.io, {
              out: o.out,
              since: o.since,
              until: o.until ?? null,
              exportedAt,
              rows: rows.length,
              sessions,
              checkpointRows,
            });
          }
          if (rows.length === 0) {
            ctx.io.err(`NOTHING EXPORTED: no events since ${o.since}; ${line}`);
            return EXIT.nothingMatched;
          }
          if (o.json !== true) ctx.io.out(line);
          return EXIT.ok;
        }),
      ),
    );
}
