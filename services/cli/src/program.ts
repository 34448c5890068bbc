// The command line: commander declares every command, its flags and its help; `run` parses,
// runs one command and turns whatever happened into an exit code. Nothing here exits the
// process, so tests drive `run` directly.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { EnvMap } from '@agentgate/config';
import { registerApprovals } from './approvals-commands.js';
import { openAuditReader, type AuditReader } from './backends.js';
import { loadConfig, type CliConfig } from './config.js';
import { connections } from './connections.js';
import { EXIT, describeFailure } from './exit-codes.js';
import { kill, SESSION_ID } from './kill.js';
import type { CliIo } from './output.js';
import { registerPolicyPipeline } from './policy-commands.js';
import { registerReplay } from './replay-commands.js';
import { registerReport } from './report-commands.js';
import { registerVerify } from './verify-commands.js';
import { registerHolds } from './holds-commands.js';
import { registerMcp } from './mcp-commands.js';
import { registerRetention } from './retention-commands.js';
import { registerSsh } from './ssh-commands.js';
import { policyTest } from './policy-test.js';
import { psql } from './psql.js';
import { sessions } from './sessions.js';
import { token } from './token.js';
import { verifyChain } from './verify-chain.js';
import { whoami } from './whoami.js';

export interface RunContext {
  io: CliIo;
  env: EnvMap;
  repoRoot: string;
  version: string;
}

/** Every command, in the order `agentgate --help` lists them. */
export const COMMANDS = [
  'sessions',
  'verify-chain',
  'kill',
  'token',
  'whoami',
  'connections',
  'psql',
  'replay',
  'report',
  'verify',
  'export',
] as const;

function integer(name: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${name} must be an integer from ${min} to ${max}.`);
    }
    return Number(value);
  };
}

function sessionId(value: string): string {
  if (!SESSION_ID.test(value)) throw new InvalidArgumentError('a session id is a UUID; `agentgate sessions` lists them.');
  return value;
}

const ENVIRONMENT = `
Environment (defaults fit the local stack, see docs/cli.md):
  AGENTGATE_TOKEN          your access token (whoami, connections, kill, approvals)
  AGENTGATE_APPROVALS_URL  http://127.0.0.1:18080 (the approval service, for approvals)
  AG_CLICKHOUSE_URL        http://127.0.0.1:18123      AG_CLICKHOUSE_DATABASE  agentgate
  AG_KAFKA_BROKERS         127.0.0.1:19092             AG_REGISTRY_URL         http://127.0.0.1:18081/apis/ccompat/v7
  AG_IDENTITY_FILE         deploy/identity.json        AG_ADMIN_GROUPS         gateway-admins
  AG_CONNECTIONS_FILE      deploy/connections.json     AG_DEV_IDP_ISSUER       http://127.0.0.1:14000
  AG_DEV_IDP_CLIENTS_FILE  .stack/secrets/dev-idp-clients.json
  AG_PG_INGRESS_PORT       15432                       AG_TLS_CA_FILE          .stack/tls/ca.crt
  AG_CHECKPOINT_KEYS_FILE  .stack/run/checkpoint-keys.json (trusted checkpoint keys, for verify and report)

Exit codes: 0 ok, 1 failure (or a broken chain), 2 usage or configuration error,
            3 verify-chain, verify, export or replay matched nothing.`;

const JSON_FLAG = ['--json', 'print one JSON document on stdout and nothing else'] as const;
const TOKEN_FILE = ['--token-file <path>', 'read the access token from this file instead of AGENTGATE_TOKEN'] as const;

/** Builds the program; `setExit` receives each command's exit code. */
export function buildProgram(ctx: RunContext, setExit: (code: number) => void): Command {
  let config: Readonly<CliConfig> | undefined;
  // Parsed once, and only once a command is about to run: `--help` works in any environment.
  const configOf = (): Readonly<CliConfig> => (config ??= loadConfig(ctx.env, ctx.repoRoot));
  const withAudit = async (run: (audit: AuditReader) => Promise<number>): Promise<number> => {
    const audit = openAuditReader(configOf());
    try {
      return await run(audit);
    } finally {
      await audit.close();
    }
  };

  const program = new Command('agentgate')
    .usage('<command> [options]')
    .description('agentgate: inspect the audit log, manage sessions and get tokens for the local stack.')
    .version(ctx.version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help (also: agentgate <command> --help)')
    .helpCommand('help [command]', 'show help for a command')
    .configureOutput({
      writeOut: (s) => ctx.io.out(s),
      writeErr: (s) => ctx.io.err(s),
      outputError: (s, write) => write(`agentgate: ${s}`),
    })
    .exitOverride()
    .showHelpAfterError('(run `agentgate --help` for the list of commands)')
    .addHelpText('after', ENVIRONMENT);

  const command = (name: string, summary: string, examples: string): Command => {
    const cmd = program
      .command(name)
      .description(summary)
      .helpOption('-h, --help', 'show help for this command')
      .showHelpAfterError(`(run \`agentgate ${name} --help\` for usage)`)
      .addHelpText('after', `\nExamples:\n${examples}\n`);
    return cmd;
  };

  command(
    'sessions',
    'list recent sessions: who, where, how many statements, how many denied',
    "  npx agentgate sessions --limit 5\n  npx agentgate sessions --json | jq '.sessions[0]'",
  )
    .addOption(new Option('--limit <n>', 'how many sessions, most recent first').default(20).argParser(integer('--limit', 1, 100_000)))
    .option(...JSON_FLAG)
    .action(async (o: { limit: number; json?: boolean }) => {
      const c = configOf();
      setExit(await withAudit((audit) => sessions(audit, c.clickhouseDatabase, { limit: o.limit, json: o.json === true }, ctx.io)));
    });

  command(
    'verify-chain',
    'recompute the per-session hash chains stored in ClickHouse',
    '  npx agentgate verify-chain                      # the 1000 most recently active sessions\n' +
      '  npx agentgate verify-chain --session <id> --json\n\n' +
      'Exits 0 when every checked chain verifies, 1 when any is broken, 3 when no session matched\n(nothing verified is never a pass).',
  )
    .option('--session <id>', 'verify this session only')
    .addOption(
      new Option('--limit <n>', 'without --session: how many of the most recently active sessions')
        .default(1000)
        .argParser(integer('--limit', 1, 100_000)),
    )
    .option(...JSON_FLAG)
    .action(async (o: { session?: string; limit: number; json?: boolean }) => {
      const c = configOf();
      setExit(
        await withAudit((audit) =>
          verifyChain(audit, c.clickhouseDatabase, { session: o.session, limit: o.limit, json: o.json === true }, ctx.io),
        ),
      );
    });

  command(
    'kill',
    'end a live session (administrators only; needs AGENTGATE_TOKEN)',
    "  export AGENTGATE_TOKEN=$(npx agentgate token erin)   # erin is the local stack's admin\n" +
      '  npx agentgate kill --session <id> --reason "runaway query"\n\n' +
      'The token is verified against AG_IDENTITY_FILE and must carry one of AG_ADMIN_GROUPS\n(default gateway-admins); the verified identity is recorded in the audit log.',
  )
    .requiredOption('--session <id>', 'the session to end (see `agentgate sessions`)', sessionId)
    .option('--reason <text>', 'recorded in the audit log', 'killed by an administrator')
    .option(...TOKEN_FILE)
    .option(...JSON_FLAG)
    .action(async (o: { session: string; reason: string; tokenFile?: string; json?: boolean }) => {
      const c = configOf();
      setExit(
        await withAudit((audit) =>
          kill(c, audit, { session: o.session, reason: o.reason, tokenFile: o.tokenFile, json: o.json === true }, ctx.io),
        ),
      );
    });

  command(
    'token',
    'print an access token from the development IdP for a demo identity',
    '  PGPASSWORD=$(npx agentgate token demo-agent) psql "host=127.0.0.1 port=15432 dbname=demo user=demo-agent sslmode=require"\n' +
      '  npx agentgate token dba-agent --on-behalf-of alice --via planner --ttl 300\n' +
      '  npx agentgate token erin --json\n\n' +
      'stdout carries only the token (and a newline). Identities: demo-agent, report-agent, dba-agent,\nplanner, alice, carol, bob, dave, erin (admin).\n\n' +
      'Delegation is an RFC 8693 token exchange: the principal gets its own token, then each actor\n' +
      'exchanges the token it holds (principal -> --via -> <identity>), so every party needs its own\nsecret in the clients file.',
  )
    .argument('<identity>', 'a demo identity of the development IdP')
    .option(
      '--on-behalf-of <principal>',
      "delegation: <identity> exchanges the principal's own token; the token names the principal, <identity> acts",
    )
    .option('--via <actor>', "an actor before <identity>: it exchanges the principal's token first (needs --on-behalf-of)")
    .option('--ttl <seconds>', 'token lifetime in seconds (1..86400)', integer('--ttl', 1, 86_400))
    .option(...JSON_FLAG)
    .action(async (identity: string, o: { onBehalfOf?: string; via?: string; ttl?: number; json?: boolean }, cmd: Command) => {
      if (o.via !== undefined && o.onBehalfOf === undefined)
        cmd.error('error: --via needs --on-behalf-of', { exitCode: EXIT.usage, code: 'agentgate.usage' });
      setExit(await token(configOf(), identity, { onBehalfOf: o.onBehalfOf, via: o.via, ttl: o.ttl, json: o.json === true }, ctx.io));
    });

  command(
    'whoami',
    'verify your token (AGENTGATE_TOKEN) and show who it names',
    '  export AGENTGATE_TOKEN=$(npx agentgate token demo-agent)\n  npx agentgate whoami\n  npx agentgate whoami --token-file ~/.agentgate-token --json',
  )
    .option(...TOKEN_FILE)
    .option(...JSON_FLAG)
    .action(async (o: { tokenFile?: string; json?: boolean }) => {
      setExit(await whoami(configOf(), { tokenFile: o.tokenFile, json: o.json === true }, ctx.io));
    });

  command(
    'connections',
    'list the connection catalog; with AGENTGATE_TOKEN, which ones you may use',
    '  npx agentgate connections\n  AGENTGATE_TOKEN=$(npx agentgate token report-agent) npx agentgate connections --json',
  )
    .option(...TOKEN_FILE)
    .option(...JSON_FLAG)
    .action(async (o: { tokenFile?: string; json?: boolean }) => {
      setExit(await connections(configOf(), { tokenFile: o.tokenFile, json: o.json === true }, ctx.io));
    });

  command(
    'psql',
    'run psql through the local gateway as a demo identity (fresh token, verified TLS)',
    '  npx agentgate psql demo --as demo-agent\n  npx agentgate psql demo --as report-agent -- -c "select count(*) from customers"\n\n' +
      "Arguments after -- go to psql unchanged. The token is passed in PGPASSWORD, never on the\ncommand line. psql's exit code is passed through.",
  )
    // The likeliest mistake is a psql flag before `--`; say how to pass it.
    .showHelpAfterError('(psql\'s own options go after --, e.g. `agentgate psql demo --as demo-agent -- -c "select 1"`)')
    .argument('<connection>', 'a connection of the catalog (see `agentgate connections`)')
    .argument('[psql-args...]', 'extra psql arguments, after --')
    .requiredOption('--as <identity>', 'the demo identity to connect as')
    .action(async (connection: string, extra: string[], o: { as: string }) => {
      setExit(await psql(configOf(), connection, extra, { as: o.as, env: ctx.env }));
    });

  // policy test: the tests kept beside a policy's rules (publish and replay are added just below).
  command(
    'policy',
    'policy as code: test, publish and replay policies',
    '  npx agentgate policy test deploy/policies/demo\n  npx agentgate policy publish deploy/policies/demo',
  )
    .command('test')
    .description('compile a policy directory and run the test cases kept beside its rules')
    .helpOption('-h, --help', 'show help for this command')
    .argument('<dir>', 'the policy directory (*.yaml: rules and tests)')
    .option('--verbose', 'list passing cases too')
    .option(...JSON_FLAG)
    .addHelpText(
      'after',
      '\nExamples:\n  npx agentgate policy test deploy/policies/demo\n\nExit codes: 0 all cases pass, 1 a case fails or the policy does not compile.\n',
    )
    .action(async (dir: string, o: { verbose?: boolean; json?: boolean }) => {
      setExit(await policyTest({ dir, json: o.json === true, verbose: o.verbose === true }, ctx.io));
    });

  // policy publish / replay: the policy command is shared with `policy test`, whichever declares it first.
  const policyCommand =
    program.commands.find((c) => c.name() === 'policy') ??
    command('policy', 'policy as code: test, publish and replay policies', '  npx agentgate policy publish deploy/policies/demo');
  registerPolicyPipeline(policyCommand, { io: ctx.io, configOf, withAudit, setExit });

  registerApprovals(program, { io: ctx.io, configOf, setExit });
  registerReplay(program, { io: ctx.io, configOf, withAudit, setExit });
  registerReport(program, { io: ctx.io, configOf, withAudit, setExit });
  registerVerify(program, { io: ctx.io, configOf, withAudit, setExit });
  registerHolds(program, { io: ctx.io, configOf, setExit });
  registerRetention(program, { io: ctx.io, configOf, setExit });
  registerSsh(program, { io: ctx.io, configOf, env: ctx.env, setExit });
  registerMcp(program, { io: ctx.io, configOf, env: ctx.env, repoRoot: ctx.repoRoot, version: ctx.version, setExit });

  return program;
}

const HELP_OR_VERSION = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/** Parses argv (without node and script), runs the command and returns the exit code. */
export async function run(argv: readonly string[], ctx: RunContext): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(ctx, (code) => (exitCode = code));
  if (argv.length === 0) {
    // No command: the overview, on stderr, as a usage error (commander would derive the exit
    // code from process.exitCode, which is not ours to read).
    program.outputHelp({ error: true });
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Asked-for help and the version are successes; everything else commander refuses is usage,
      // including the help it shows for a command group named without a subcommand (exit code 1).
      return HELP_OR_VERSION.has(error.code) && error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const name = argv.find((a) => (COMMANDS as readonly string[]).includes(a)) ?? '';
    const { exitCode: code, text } = describeFailure(name, error);
    ctx.io.err(text);
    return code;
  }
}
