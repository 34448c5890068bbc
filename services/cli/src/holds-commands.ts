// `agentgate hold add|remove|list`: legal holds through the audit API. A hold keeps every month
// partition the session has events in from `retention apply`; adding or lifting one is itself
// an audit event (LegalHoldChanged), written by the audit API. Declared apart from program.ts,
// which wires it in.
import { type Command, InvalidArgumentError } from 'commander';
import { auditApiClientFor, type AuditApiClient } from './audit-api-client.js';
import { serviceUrl, type ApiResult } from './rest-call.js';
import { formatProblem, problemExitCode } from './approvals-format.js';
import type { CliConfig } from './config.js';
import { EXIT, describeFailure } from './exit-codes.js';
import { printJson, table, type CliIo } from './output.js';

export interface GovernanceCommandContext {
  io: CliIo;
  configOf(): Readonly<CliConfig>;
  setExit(code: number): void;
  /** Injected by tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

const MAX_SESSION = 256;
const MAX_REASON = 1024;

function sessionId(value: string): string {
  if (value === '' || value.length > MAX_SESSION)
    throw new InvalidArgumentError(`a session id has 1 to ${MAX_SESSION} characters; \`agentgate sessions\` lists them.`);
  return value;
}

function reasonText(value: string): string {
  if (value.trim() === '' || value.length > MAX_REASON) throw new InvalidArgumentError(`--reason needs 1 to ${MAX_REASON} characters.`);
  return value;
}

interface Flags {
  url?: string;
  tokenFile?: string;
  json?: boolean;
  reason?: string;
}

interface HoldView {
  sessionId?: unknown;
  reason?: unknown;
  requestedBy?: unknown;
  since?: unknown;
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

/** Prints an answer (or its problem); returns the exit code. */
export function printAnswer(
  command: string,
  result: ApiResult<unknown>,
  json: boolean,
  io: CliIo,
  human: (value: unknown) => void,
): number {
  if (!result.ok) {
    io.err(formatProblem(command, result.problem));
    return problemExitCode(result.problem);
  }
  if (json) printJson(io, result.value);
  else human(result.value);
  return EXIT.ok;
}

/** Runs one hold subcommand; returns its exit code. */
export async function hold(
  client: AuditApiClient,
  request: { action: 'add' | 'remove'; session: string; reason: string } | { action: 'list' },
  json: boolean,
  io: CliIo,
): Promise<number> {
  const command = `hold ${request.action}`;
  if (request.action === 'list') {
    return printAnswer(command, await client.listHolds(), json, io, (value) => {
      const holds = ((value as { holds?: unknown }).holds ?? []) as HoldView[];
      if (!Array.isArray(holds) || holds.length === 0) {
        io.err('no session is under legal hold\n');
        return;
      }
      io.out(
        table(
          ['SESSION', 'SINCE', 'BY', 'REASON'],
          holds.map((h) => [text(h.sessionId), text(h.since), text(h.requestedBy), text(h.reason)]),
        ),
      );
    });
  }
  const result =
    request.action === 'add'
      ? await client.addHold(request.session, request.reason)
      : await client.removeHold(request.session, request.reason);
  return printAnswer(command, result, json, io, (value) => {
    const v = value as { eventId?: unknown; projected?: unknown };
    const what = request.action === 'add' ? 'legal hold placed on' : 'legal hold lifted from';
    io.out(`${what} session ${request.session} (audit record ${text(v.eventId)})\n`);
    if (v.projected === false)
      io.err('  not yet visible in ClickHouse: a retention run started right now may not see it; `agentgate hold list` shows when it is\n');
  });
}

/** Adds `hold` and its subcommands (add, remove, list) to the program. */
export function registerHolds(program: Command, ctx: GovernanceCommandContext): Command {
  const parent = program
    .command('hold')
    .description('legal holds: keep a session from retention (add, remove, list; needs an auditor in AGENTGATE_TOKEN)')
    .helpOption('-h, --help', 'show help for this command')
    .addHelpText(
      'after',
      '\nExamples:\n  export AGENTGATE_TOKEN=$(node scripts/token.mjs bob)   # bob is an auditor in the local stack\n' +
        '  npx agentgate hold add <session> --reason "litigation 2025-17"\n  npx agentgate hold list\n' +
        '  npx agentgate hold remove <session> --reason "case closed" --json\n\n' +
        'The audit API (--url, AGENTGATE_AUDIT_URL, default http://127.0.0.1:18082) checks the token (group\n' +
        'auditors) and writes a LegalHoldChanged audit event for every change. Exit 2 for a malformed request\n' +
        'or a session not under hold, 1 for any other refusal or failure.\n',
    );

  const sub = (name: string, summary: string, example: string): Command =>
    parent
      .command(name)
      .description(summary)
      .helpOption('-h, --help', 'show help for this command')
      .showHelpAfterError(`(run \`agentgate hold ${name} --help\` for usage)`)
      .option('--url <url>', 'the audit API (default: AGENTGATE_AUDIT_URL, else http://127.0.0.1:18082)', serviceUrl)
      .option('--token-file <path>', 'read the access token from this file instead of AGENTGATE_TOKEN')
      .option('--json', "print one JSON document on stdout and nothing else (the audit API's answer)")
      .addHelpText('after', `\nExamples:\n${example}\n`);

  const runWith = async (action: 'add' | 'remove' | 'list', o: Flags, run: (client: AuditApiClient) => Promise<number>): Promise<void> => {
    try {
      const client = await auditApiClientFor(ctx.configOf(), `hold ${action}`, { url: o.url, tokenFile: o.tokenFile, fetch: ctx.fetch });
      ctx.setExit(await run(client));
    } catch (error) {
      const { exitCode, text: message } = describeFailure(`hold ${action}`, error);
      ctx.io.err(message);
      ctx.setExit(exitCode);
    }
  };

  sub(
    'add',
    'place a legal hold on a session: retention keeps every month it has events in',
    '  npx agentgate hold add 3f1c9b1d-0000-4000-8000-000000000001 --reason "litigation 2025-17"',
  )
    .argument('<session>', 'the session id (see `agentgate sessions`)', sessionId)
    .requiredOption('--reason <text>', 'why (recorded in the audit event)', reasonText)
    .action(async (session: string, o: Flags) => {
      await runWith('add', o, (client) => hold(client, { action: 'add', session, reason: o.reason ?? '' }, o.json === true, ctx.io));
    });

  sub(
    'remove',
    'lift the legal hold on a session',
    '  npx agentgate hold remove 3f1c9b1d-0000-4000-8000-000000000001 --reason "case closed"',
  )
    .argument('<session>', 'the held session id (see `agentgate hold list`)', sessionId)
    .requiredOption('--reason <text>', 'why (recorded in the audit event)', reasonText)
    .action(async (session: string, o: Flags) => {
      await runWith('remove', o, (client) => hold(client, { action: 'remove', session, reason: o.reason ?? '' }, o.json === true, ctx.io));
    });

  sub(
    'list',
    'list the sessions under legal hold',
    "  npx agentgate hold list\n  npx agentgate hold list --json | jq '.holds[].sessionId'",
  ).action(async (o: Flags) => {
    await runWith('list', o, (client) => hold(client, { action: 'list' }, o.json === true, ctx.io));
  });

  return parent;
}
