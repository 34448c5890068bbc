// `agentgate replay <session>`: the transcript of one session (statements, verdicts, approvals,
// masked result samples, timings) read straight from ClickHouse, built by @agentgate/audit-report
// exactly as the audit API builds it. Declared apart from program.ts, which wires it in.
import { buildTranscript, replayQuery, transcriptText, type ReplayRow } from '@agentgate/audit-report';
import { quoteIdentifier, quoteString } from '@agentgate/clickhouse';
import { type Command, InvalidArgumentError } from 'commander';
import type { AuditReader } from './backends.js';
import type { CliConfig } from './config.js';
import { EXIT, describeFailure } from './exit-codes.js';
import { printJson, type CliIo } from './output.js';

export interface ReplayCommandContext {
  io: CliIo;
  configOf(): Readonly<CliConfig>;
  withAudit(run: (audit: AuditReader) => Promise<number>): Promise<number>;
  setExit(code: number): void;
}

const MAX_ID = 256;

function sessionId(value: string): string {
  if (value === '' || value.length > MAX_ID)
    throw new InvalidArgumentError(`a session id has 1 to ${MAX_ID} characters; \`agentgate sessions\` lists them.`);
  return value;
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
    .description('replay a session: each statement in order with its verdict, approval, response, masked sample and timings')
    .helpOption('-h, --help', 'show help for this command')
    .showHelpAfterError('(run `agentgate replay --help` for usage)')
    .argument('<session>', 'the session id (see `agentgate sessions`)', sessionId)
    .option('--json', 'print one JSON document on stdout and nothing else (the transcript)')
    .addHelpText(
      'after',
      "\nExamples:\n  npx agentgate replay <session>\n  npx agentgate replay <session> --json | jq '.requests[] | {text, verdict}'\n\n" +
        'Reads ClickHouse as the read-only reader. Exits 0 when the transcript is printed, 3 when no event of\n' +
        'the session is stored, 1 when ClickHouse cannot be read. Recorded control characters are shown escaped.\n',
    )
    .action(async (session: string, o: { json?: boolean }) => {
      try {
        const database = ctx.configOf().clickhouseDatabase;
        ctx.setExit(await ctx.withAudit((audit) => replaySession(audit, database, session, { json: o.json === true }, ctx.io)));
      } catch (error) {
        const { exitCode, text } = describeFailure('replay', error);
        ctx.io.err(text);
        ctx.setExit(exitCode);
      }
    });
}
