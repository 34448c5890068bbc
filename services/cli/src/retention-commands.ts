// `agentgate retention apply`: drops month partitions of the audit tables older than the
// configured age, through the audit API. ClickHouse 18.16 has no TTL, so this is retention. The
// API writes a RetentionApplied audit event for each month before dropping it, and keeps every
// month a session under legal hold has events in. Declared apart from program.ts.
import { type Command, InvalidArgumentError } from 'commander';
import { auditApiClientFor, type AuditApiClient } from './audit-api-client.js';
import { printAnswer, type GovernanceCommandContext } from './holds-commands.js';
import { serviceUrl } from './rest-call.js';
import { describeFailure } from './exit-codes.js';
import { table, type CliIo } from './output.js';

/** The fewest days retention keeps (the audit API refuses fewer): never the current month. */
export const MIN_DAYS = 31;
export const MAX_DAYS = 36_500;

/** `400d` (or `400`) as a number of days; refuses anything else, and fewer than MIN_DAYS. */
export function olderThanDays(value: string): number {
  const m = /^(\d{1,6})d?$/.exec(value.trim());
  const days = m ? Number(m[1]) : Number.NaN;
  if (!Number.isInteger(days) || days < MIN_DAYS || days > MAX_DAYS)
    throw new InvalidArgumentError(`--older-than takes a number of days from ${MIN_DAYS} to ${MAX_DAYS}, e.g. 400d`);
  return days;
}

interface Planned {
  partition?: unknown;
  action?: unknown;
  rows?: unknown;
  tables?: unknown;
  heldSessions?: unknown;
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);

/** Runs `retention apply`; returns its exit code. */
export async function retentionApply(
  client: AuditApiClient,
  options: { olderThanDays?: number | undefined; dryRun: boolean; json: boolean },
  io: CliIo,
): Promise<number> {
  const result = await client.applyRetention({ olderThanDays: options.olderThanDays, dryRun: options.dryRun });
  return printAnswer('retention apply', result, options.json, io, (value) => {
    const v = value as { cutoff?: unknown; olderThanDays?: unknown; dryRun?: unknown; partitions?: unknown };
    const partitions = (Array.isArray(v.partitions) ? v.partitions : []) as Planned[];
    io.err(
      `${v.dryRun === true ? 'dry run, nothing recorded or dropped: ' : ''}months ending before ${String(v.cutoff)} ` +
        `(older than ${String(v.olderThanDays)} days)\n`,
    );
    if (partitions.length === 0) {
      io.err('no month is old enough\n');
      return;
    }
    const done = v.dryRun === true ? { drop: 'would drop', keep: 'would keep' } : { drop: 'dropped', keep: 'kept' };
    io.out(
      table(
        ['MONTH', 'ACTION', 'EVENTS', 'TABLES', 'HELD SESSIONS'],
        partitions.map((p) => [
          String(p.partition),
          p.action === 'keep' ? done.keep : done.drop,
          String(p.rows),
          String(list(p.tables).length),
          list(p.heldSessions).join(' '),
        ]),
      ),
    );
  });
}

/** Adds `retention` and `retention apply` to the program. */
export function registerRetention(program: Command, ctx: GovernanceCommandContext): Command {
  const parent = program
    .command('retention')
    .description('retention: drop month partitions of the audit log older than the configured age (needs an auditor)')
    .helpOption('-h, --help', 'show help for this command')
    .addHelpText(
      'after',
      '\nExamples:\n  export AGENTGATE_TOKEN=$(node scripts/token.mjs bob)   # bob is an auditor in the local stack\n' +
        '  npx agentgate retention apply --dry-run\n  npx agentgate retention apply --older-than 400d --json\n',
    );

  parent
    .command('apply')
    .description('drop every month that ended more than --older-than ago, except months a session under legal hold has events in')
    .helpOption('-h, --help', 'show help for this command')
    .showHelpAfterError('(run `agentgate retention apply --help` for usage)')
    .option('--older-than <days>', `age in days, at least ${MIN_DAYS} (default: the audit API's AG_RETENTION_DAYS, 400)`, olderThanDays)
    .option('--dry-run', 'show what would be dropped and kept; record and drop nothing')
    .option('--url <url>', 'the audit API (default: AGENTGATE_AUDIT_URL, else http://127.0.0.1:18082)', serviceUrl)
    .option('--token-file <path>', 'read the access token from this file instead of AGENTGATE_TOKEN')
    .option('--json', "print one JSON document on stdout and nothing else (the audit API's answer)")
    .addHelpText(
      'after',
      '\nExamples:\n  npx agentgate retention apply --dry-run\n  npx agentgate retention apply --older-than 400d\n' +
        "  npx agentgate retention apply --older-than 400d --json | jq '.partitions[] | {partition, action}'\n\n" +
        'For each month, oldest first, the audit API writes a RetentionApplied audit event and waits for\n' +
        "Kafka's acknowledgement before dropping anything; if it cannot write, nothing more is dropped (exit 1).\n" +
        'A month that a session under legal hold (`agentgate hold list`) has events in is kept whole.\n',
    )
    .action(async (o: { olderThan?: number; dryRun?: boolean; url?: string; tokenFile?: string; json?: boolean }) => {
      try {
        const client = await auditApiClientFor(ctx.configOf(), 'retention apply', { url: o.url, tokenFile: o.tokenFile, fetch: ctx.fetch });
        ctx.setExit(await retentionApply(client, { olderThanDays: o.olderThan, dryRun: o.dryRun === true, json: o.json === true }, ctx.io));
      } catch (error) {
        const { exitCode, text } = describeFailure('retention apply', error);
        ctx.io.err(text);
        ctx.setExit(exitCode);
      }
    });

  return parent;
}
