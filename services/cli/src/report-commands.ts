// `agentgate report`: the compliance report for a period, as JSON, CSV, HTML or PDF. Declared
// apart from program.ts like the approvals command; the queries are in report-queries.ts and
// the rendering in @agentgate/audit-report.
import { readFile, writeFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { htmlToPdf, toCsv, toHtml, toJson, type ComplianceReport } from '@agentgate/audit-report';
import { parseTrustedKeys, verifyStored, type VerificationReport } from '@agentgate/audit-verify';
import { GatewayError } from '@agentgate/errors';
import type { AuditReader } from './backends.js';
import type { CliConfig } from './config.js';
import { describeFailure } from './exit-codes.js';
import type { CliIo } from './output.js';
import { collectReport, DEFAULT_SENSITIVE_COLUMNS } from './report-queries.js';

export interface ReportCommandContext {
  io: CliIo;
  configOf(): Readonly<CliConfig>;
  withAudit(run: (audit: AuditReader) => Promise<number>): Promise<number>;
  setExit(code: number): void;
  /** The clock: relative times (24h, now) and the generation time. Injected for tests. */
  now?: () => number;
  /** Where the report goes with --out; injected for tests. */
  writeOut?: (path: string, data: string | Buffer) => Promise<void>;
  /** Prints HTML to PDF; injected for tests (default: headless Chromium). */
  toPdf?: (html: string, options: { chromiumPath?: string; timeoutMs: number }) => Promise<Buffer>;
  readVerification?: (path: string) => Promise<string>;
}

export const REPORT_FORMATS = ['json', 'csv', 'html', 'pdf'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `now`, a duration back from now (`90m`, `24h`, `7d`, `2w`), or an ISO 8601 time with a date: milliseconds. */
export function parseInstant(value: string, nowMs: number, flag: string): number {
  if (value === 'now') return nowMs;
  const relative = /^(\d{1,6})([smhdw])$/.exec(value);
  if (relative) return nowMs - Number(relative[1]) * (UNIT_MS[relative[2] ?? ''] ?? 0);
  const ms = /^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0) {
    // Read when the command runs (it needs the clock), so a configuration error rather than commander's.
    throw new GatewayError(
      'AG_ERR_CONFIG_INVALID',
      `${flag} takes an ISO time (2026-11-01T00:00:00Z), a duration back from now (24h, 7d) or now`,
    );
  }
  return ms;
}

const COLUMN = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

/** A comma-separated list of column names; an empty string means none. */
export function sensitiveColumns(value: string): string[] {
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  // Names are matched against the result columns' JSON; quoting them is the query's job, but
  // something that cannot be a column name is a typo worth saying.
  for (const n of names)
    if (!COLUMN.test(n)) throw new InvalidArgumentError(`--sensitive-columns: ${JSON.stringify(n)} is not a column name.`);
  return names;
}

function positive(name: string, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max)
      throw new InvalidArgumentError(`${name} must be from 1 to ${max}.`);
    return Number(value);
  };
}

/** The parts of a VerificationReport the report renders, checked so a wrong file is named, not half-printed. */
export function parseVerification(text: string, path: string): VerificationReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `--verification ${path} is not JSON`, { cause });
  }
  const v = value as Partial<VerificationReport> | null;
  const ok =
    v !== null &&
    typeof v === 'object' &&
    typeof v.ok === 'boolean' &&
    typeof v.sessionsChecked === 'number' &&
    typeof v.eventsChecked === 'number' &&
    Array.isArray(v.findings) &&
    Array.isArray(v.checkpoints) &&
    Array.isArray(v.trustedKeys);
  if (!ok) {
    throw new GatewayError(
      'AG_ERR_CONFIG_INVALID',
      `--verification ${path} is not a verification report (the output of \`agentgate verify --json\`)`,
    );
  }
  return v as VerificationReport;
}

export function render(report: ComplianceReport, format: Exclude<ReportFormat, 'pdf'>): string {
  switch (format) {
    case 'json':
      return toJson(report);
    case 'csv':
      return toCsv(report);
    case 'html':
      return toHtml(report);
    default: {
      const unknown: never = format;
      return unknown;
    }
  }
}

interface Flags {
  since: string;
  until: string;
  format: ReportFormat;
  out?: string;
  limit: number;
  sensitiveColumns: string[];
  verification?: string;
  title: string;
  chromium?: string;
  pdfTimeout: number;
}

/** Adds `report` to the program. */
export function registerReport(program: Command, ctx: ReportCommandContext): Command {
  const now = ctx.now ?? Date.now;
  const writeOut = ctx.writeOut ?? ((path: string, data: string | Buffer) => writeFile(path, data, { mode: 0o640 }));
  const toPdf = ctx.toPdf ?? htmlToPdf;
  const readVerification = ctx.readVerification ?? ((path: string) => readFile(path, 'utf8'));

  const run = async (o: Flags): Promise<number> => {
    const nowMs = now();
    const sinceMs = parseInstant(o.since, nowMs, '--since');
    const untilMs = parseInstant(o.until, nowMs, '--until');
    if (sinceMs >= untilMs) throw new GatewayError('AG_ERR_CONFIG_INVALID', '--since must be before --until');
    if (o.format === 'pdf' && o.out === undefined) {
      throw new GatewayError('AG_ERR_CONFIG_INVALID', 'a PDF report needs --out <file> (stdout carries text only)');
    }
    const given = o.verification === undefined ? null : parseVerification(await readVerification(o.verification), o.verification);
    const c = ctx.configOf();
    // Without a saved verification, the report verifies the period itself against the trusted keys.
    const trustedKeys = given === null ? parseTrustedKeys(await readVerification(c.checkpointKeysFile), c.checkpointKeysFile) : [];
    let report: ComplianceReport | undefined;
    await ctx.withAudit(async (audit) => {
      const verification =
        given ??
        (await verifyStored(
          (sql) => audit.rows(sql),
          c.clickhouseDatabase,
          { sinceUs: sinceMs * 1000, untilUs: untilMs * 1000 },
          trustedKeys,
        ));
      report = await collectReport(
        audit,
        {
          database: c.clickhouseDatabase,
          sinceUs: sinceMs * 1000,
          untilUs: untilMs * 1000,
          limit: o.limit,
          sensitiveColumns: o.sensitiveColumns,
        },
        { title: o.title, generatedAt: new Date(nowMs).toISOString(), verification },
      );
      return 0;
    });
    if (report === undefined) throw new GatewayError('AG_ERR_INTERNAL', 'no report was assembled');
    const data =
      o.format === 'pdf'
        ? await toPdf(toHtml(report), { chromiumPath: o.chromium, timeoutMs: o.pdfTimeout * 1000 })
        : render(report, o.format);
    if (o.out === undefined) {
      ctx.io.out(data.toString());
    } else {
      await writeOut(o.out, data);
      ctx.io.err(`wrote ${o.format} report to ${o.out}\n`);
    }
    return 0;
  };

  return program
    .command('report')
    .description('compliance report for a period: access, privileged actions and approvals, denials, masking, policy changes, verification')
    .helpOption('-h, --help', 'show help for this command')
    .showHelpAfterError('(run `agentgate report --help` for usage)')
    .option('--since <time>', 'start of the period: ISO time, a duration back from now (24h, 7d) ', '24h')
    .option('--until <time>', 'end of the period (exclusive): ISO time, duration, or now', 'now')
    .addOption(new Option('--format <format>', 'output format').choices(REPORT_FORMATS).default('json'))
    .option('--out <file>', 'write the report to this file (required for pdf) instead of stdout')
    .addOption(
      new Option('--limit <n>', 'most rows per listed section (totals count every row)')
        .default(1000)
        .argParser(positive('--limit', 100_000)),
    )
    .addOption(
      new Option('--sensitive-columns <names>', 'comma-separated customer columns to report when seen unmasked')
        .default([...DEFAULT_SENSITIVE_COLUMNS], DEFAULT_SENSITIVE_COLUMNS.join(','))
        .argParser(sensitiveColumns),
    )
    .option(
      '--verification <file>',
      'include this verification report (`agentgate verify --json`) instead of verifying the period now against AG_CHECKPOINT_KEYS_FILE',
    )
    .option('--title <text>', 'the report title', 'agentgate compliance report')
    .option('--chromium <path>', 'the Chromium binary for pdf (default: chromium in PATH)')
    .addOption(new Option('--pdf-timeout <seconds>', 'how long Chromium may take').default(120).argParser(positive('--pdf-timeout', 3600)))
    .addHelpText(
      'after',
      '\nExamples:\n  npx agentgate report --since 24h --format html --out report.html\n' +
        '  npx agentgate report --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z --format pdf --out november.pdf\n' +
        '  npx agentgate report --since 7d --format csv > week.csv\n\n' +
        'Reads the ClickHouse projection as the read-only reader. PDF is printed by headless Chromium\n' +
        '(Debian: apt-get install chromium). Exit 2 for a bad period or file, 1 when a query or the print fails.\n',
    )
    .action(async (o: Flags) => {
      try {
        ctx.setExit(await run(o));
      } catch (error) {
        const { exitCode, text } = describeFailure('report', error);
        ctx.io.err(text);
        ctx.setExit(exitCode);
      }
    });
}
