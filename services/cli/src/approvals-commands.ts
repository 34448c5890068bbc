// The `approvals` command and its subcommands (list, show, approve, deny), declared apart from
// program.ts like the policy pipeline; the work is in approvals.ts.
import { type Command, InvalidArgumentError } from 'commander';
import { approvals, type ApprovalsRequest } from './approvals.js';
import type { CliConfig } from './config.js';
import { describeFailure } from './exit-codes.js';
import type { CliIo } from './output.js';
import { serviceUrl } from './rest-call.js';

export interface ApprovalsCommandContext {
  io: CliIo;
  configOf(): Readonly<CliConfig>;
  setExit(code: number): void;
}

const MAX_ID = 200;

function approvalId(value: string): string {
  // Ids go into a URL path: refuse what cannot be an id rather than send it escaped.
  if (value === '' || value.length > MAX_ID || /[\s/?#%\\]/.test(value)) {
    throw new InvalidArgumentError('an approval id has no spaces or slashes; `agentgate approvals list` shows them.');
  }
  return value;
}

interface Flags {
  url?: string;
  tokenFile?: string;
  json?: boolean;
}

/** Adds `approvals` and its subcommands to the program. */
export function registerApprovals(program: Command, ctx: ApprovalsCommandContext): Command {
  const parent = program
    .command('approvals')
    .description('just-in-time approvals: list, show, approve or deny statements waiting for approval (needs AGENTGATE_TOKEN)')
    .helpOption('-h, --help', 'show help for this command')
    .addHelpText(
      'after',
      '\nExamples:\n  export AGENTGATE_TOKEN=$(npx agentgate token alice)   # alice is an approver in the local stack\n' +
        '  npx agentgate approvals list\n  npx agentgate approvals show <id>\n' +
        '  npx agentgate approvals approve <id> --comment "checked with the owner"\n  npx agentgate approvals deny <id> --json\n\n' +
        'The approval service (--url, AGENTGATE_APPROVALS_URL, default http://127.0.0.1:18080) checks the token\n' +
        'and decides who may approve. Its errors are printed as "<code>: <detail>"; exit 2 for an unknown or\n' +
        'malformed id, 1 for any other refusal or failure.\n',
    );

  const sub = (name: string, summary: string, example: string): Command =>
    parent
      .command(name)
      .description(summary)
      .helpOption('-h, --help', 'show help for this command')
      .showHelpAfterError(`(run \`agentgate approvals ${name} --help\` for usage)`)
      .option('--url <url>', 'the approval service (default: AGENTGATE_APPROVALS_URL, else http://127.0.0.1:18080)', serviceUrl)
      .option('--token-file <path>', 'read the access token from this file instead of AGENTGATE_TOKEN')
      .option('--json', "print the service's JSON document on stdout and nothing else")
      .addHelpText('after', `\nExamples:\n${example}\n`);

  const runWith = async (request: ApprovalsRequest, o: Flags): Promise<void> => {
    try {
      ctx.setExit(await approvals(ctx.configOf(), request, { url: o.url, tokenFile: o.tokenFile, json: o.json === true }, ctx.io));
    } catch (error) {
      // Named here: the top level names only the first word of a command.
      const { exitCode, text } = describeFailure(`approvals ${request.action}`, error);
      ctx.io.err(text);
      ctx.setExit(exitCode);
    }
  };

  sub(
    'list',
    'list approval requests: pending ones, or with --all every one',
    '  npx agentgate approvals list\n  npx agentgate approvals list --all --json',
  )
    .option('--all', 'decided and expired requests too')
    .action((o: Flags & { all?: boolean }) => runWith({ action: 'list', all: o.all === true }, o));

  sub('show', 'show one approval request: the statement, who asked, the rule, the decisions so far', '  npx agentgate approvals show <id>')
    .argument('<id>', 'the approval id (see `agentgate approvals list`)', approvalId)
    .action((id: string, o: Flags) => runWith({ action: 'show', id }, o));

  for (const verdict of ['approve', 'deny'] as const) {
    sub(
      verdict,
      verdict === 'approve' ? 'approve a request (its approver groups only; never your own)' : 'deny a request (its approver groups only)',
      `  npx agentgate approvals ${verdict} <id> --comment "reason"`,
    )
      .argument('<id>', 'the approval id (see `agentgate approvals list`)', approvalId)
      .option('--comment <text>', 'recorded with the decision')
      .action((id: string, o: Flags & { comment?: string }) => runWith({ action: verdict, id, comment: o.comment }, o));
  }
  return parent;
}
