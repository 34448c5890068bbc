// `agentgate replay <session>`: the transcript of one session (statements, SSH commands, HTTP
// requests and MCP calls; verdicts, approvals, masked result samples, timings) read straight
// from ClickHouse, built by @agentgate/audit-report exactly as the audit API builds it; for SSH
// sessions, --cast/--play/--screen show the recorded terminal instead (replay-terminal.ts).
// Declared apart from program.ts, which wires it in.
import { buildTranscript, replayQuery, transcriptText, type ReplayRow } from '@agentgate/audit-report';
import { quoteIdentifier, quoteString } from '@agentgate/clickhouse';
import { type Command, InvalidArgumentError } from 'commander';
import { writeFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { AuditReader } from './backends.js';
import type { CliConfig } from './config.js';
import { EXIT, describeFailure } from './exit-codes.js';
import { printJson, type CliIo } from './output.js';
import { replayTerminal, type TerminalActions, type TerminalEffects } from './replay-terminal.js';

export interface ReplayCommandContext {
  io: CliIo;
  configOf(): Readonly<CliConfig>;
  withAudit(run: (audit: AuditReader) => Promise<number>): Promise<number>;
  setExit(code: number): void;
  /** Files and clock for --cast and --play; the real ones when absent. */
  terminalEffects?: TerminalEffects;
}

const REAL_EFFECTS: TerminalEffects = {
  writeFile: (path, text) => writeFileSync(path, text, 'utf8'),
  sleep: async (ms) => {
    await delay(ms);
  },
};

const MAX_ID = 256;

function sessionId(value: string): string {
  if (value === '' || value.length > MAX_ID)
    throw new InvalidArgumentError(`a session id has 1 to ${MAX_ID} characters; \`agentgate sessions\` lists them.`);
  return value;
}

/** Longest pause --play keeps between two outputs, in recorded seconds, unless --max-idle says otherwise. */
export const DEFAULT_MAX_IDLE_SEC = 2;

function requestId(value: string): string {
  if (value === '' || value.length > MAX_ID)
    throw new InvalidArgumentError(`a request id has 1 to ${MAX_ID} characters; the transcript names each request.`);
  return value;
}

function nonNegative(what: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${what} is a number >= 0.`);
    return n;
  };
}

interface ReplayOptions {
  json?: boolean;
  cast?: string;
  play?: boolean;
  speed?: number;
  maxIdle?: number;
  screen?: boolean;
  request?: string;
}

/** The terminal actions the options ask for, undefined for the transcript, or a usage problem. */
export function terminalActions(o: ReplayOptions): TerminalActions | undefined | { problem: string } {
  const wanted = o.cast !== undefined || o.play === true || o.screen === true;
  if (!wanted) {
    if (o.request !== undefined || o.speed !== undefined || o.maxIdle !== undefined)
      return { problem: '--request, --speed and --max-idle go with --cast, --play or --screen' };
    return undefined;
  }
  if (o.json === true) return { problem: '--json prints the transcript; it does not go with --cast, --play or --screen' };
  const toStdout = (o.cast === '-' ? 1 : 0) + (o.play === true ? 1 : 0) + (o.screen === true ? 1 : 0);
  if (toStdout > 1) return { problem: 'only one of --cast -, --play and --screen can write to stdout' };
  if (o.play !== true && (o.speed !== undefined || o.maxIdle !== undefined)) return { problem: '--speed and --max-idle go with --play' };
  return {
    ...(o.cast === undefined ? {} : { cast: o.cast }),
    ...(o.play === true ? { play: { speed: o.speed ?? 1, maxIdleSec: o.maxIdle ?? DEFAULT_MAX_IDLE_SEC } } : {}),
    ...(o.screen === true ? { screen: true } : {}),
    ...(o.request === undefined ? {} : { request: o.request }),
  };
}

/** Prints the transcript of `session`: 0 printed, 3 no stored event of the session (nothing to show is never a success). */
export async function replaySession(
  audit: AuditReader,
  database: string,
  session: string,
  options: { json: boolean },
  io: CliIo,
): Promise<number> {
  const rows = await audit.rows<ReplayRow>(replayQuery({ database: quoteIdentifier(database), session: quoteString(session) }));
  if (!rows.some((r) => r.session_id === session)) {
    io.err(`NOTHING TO REPLAY: no events stored for session ${JSON.stringify(session)} in ${database}.events\n`);
    return EXIT.nothingMatched;
  }
  const transcript = buildTranscript(session, rows);
  if (options.json) printJson(io, transcript);
  else io.out(transcriptText(transcript));
  return EXIT.ok;
}

/** Adds `replay` to the program. */
export function registerReplay(program: Command, ctx: ReplayCommandContext): Command {
  return program
    .command('replay')
    .description('replay a session: each request in order with its verdict, approval, response, masked sample and timings')
    .helpOption('-h, --help', 'show help for this command')
    .showHelpAfterError('(run `agentgate replay --help` for usage)')
    .argument('<session>', 'the session id (see `agentgate sessions`)', sessionId)
    .option('--json', 'print one JSON document on stdout and nothing else (the transcript)')
    .option('--cast <file>', 'SSH: write the recorded terminal as an asciicast v2 file (- for stdout)')
    .option('--play', 'SSH: play the recorded terminal here, with its timing')
    .option('--speed <n>', 'with --play: speed factor (0 = no waiting)', nonNegative('--speed'))
    .option(
      '--max-idle <sec>',
      `with --play: longest pause kept, in recorded seconds (default ${DEFAULT_MAX_IDLE_SEC})`,
      nonNegative('--max-idle'),
    )
    .option('--screen', "SSH: print the terminal's final screen as text")
    .option('--request <id>', 'SSH: the shell request whose terminal to show (default: the first shell with one)', requestId)
    .addHelpText(
      'after',
      "\nExamples:\n  npx agentgate replay <session>\n  npx agentgate replay <session> --json | jq '.requests[] | {text, verdict}'\n" +
        '  npx agentgate replay <mcp-session> --json | jq \'.requests[] | select(.mcp.method == "tools/call") | .mcp\'\n' +
        '  npx agentgate replay <ssh-session> --cast session.cast    (asciinema play session.cast)\n' +
        '  npx agentgate replay <ssh-session> --play --speed 4\n  npx agentgate replay <ssh-session> --screen\n\n' +
        'SQL statements, SSH commands, HTTP requests (METHOD /path?query) and MCP calls (tools/call <tool>\n' +
        '<arguments>, resources/read <uri>, prompts/get <name>, tools/list with the tools shown and hidden)\n' +
        'are shown as recorded: arguments, bodies and results are the masked samples the audit log holds.\n' +
        'Reads ClickHouse as the read-only reader. Exits 0 when the transcript is printed, 3 when no event of\n' +
        'the session is stored (or, with --cast/--play/--screen, no terminal is), 1 when ClickHouse cannot be read,\n' +
        '2 for options that do not go together. Recorded control characters are shown escaped in the transcript;\n' +
        '--play and --screen send the recorded (masked) terminal output to the terminal as it was.\n',
    )
    .action(async (session: string, o: ReplayOptions) => {
      try {
        const actions = terminalActions(o);
        if (actions !== undefined && 'problem' in actions) {
          ctx.io.err(`agentgate replay: ${actions.problem} (run \`agentgate replay --help\` for usage)\n`);
          ctx.setExit(EXIT.usage);
          return;
        }
        const database = ctx.configOf().clickhouseDatabase;
        const effects = ctx.terminalEffects ?? REAL_EFFECTS;
        ctx.setExit(
          await ctx.withAudit((audit) =>
            actions === undefined
              ? replaySession(audit, database, session, { json: o.json === true }, ctx.io)
              : replayTerminal(audit, database, session, actions, ctx.io, effects),
          ),
        );
      } catch (error) {
        const { exitCode, text } = describeFailure('replay', error);
        ctx.io.err(text);
        ctx.setExit(exitCode);
      }
    });
}
