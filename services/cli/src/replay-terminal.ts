// `agentgate replay <session> --cast/--play/--screen`: an SSH session's recorded terminal read
// from ClickHouse alone (the shell's RequestObserved for the pty size, its TerminalRecorded
// events for the frames) and turned into an asciicast v2 file, a timed playback or the final
// screen. castOf is pure; replayTerminal runs one of the three on the injected io.
import { type SessionTerminal, type TerminalRow, sessionTerminal, terminalQuery } from '@agentgate/audit-report';
import { quoteIdentifier, quoteString } from '@agentgate/clickhouse';
import { type CastHeader, castHeader, castText, finalScreen, play } from '@agentgate/terminal';
import type { AuditReader } from './backends.js';
import { EXIT } from './exit-codes.js';
import type { CliIo } from './output.js';

/** The size asciinema assumes when a recording does not say (no pty size was requested). */
export const DEFAULT_SIZE = { cols: 80, rows: 24 } as const;

/** What to do with the terminal: any of write the cast (`-` = stdout), play it, print its final screen. */
export interface TerminalActions {
  cast?: string;
  play?: { speed: number; maxIdleSec: number };
  screen?: boolean;
  request?: string;
}

/** Effects the terminal actions need besides io (injected so tests run without files or clocks). */
export interface TerminalEffects {
  writeFile(path: string, text: string): void;
  sleep(ms: number): Promise<void>;
}

/** The asciicast header of a recorded terminal: its pty size (or 80x24), start time, TERM and a title naming it. */
export function castHeaderOf(sessionId: string, t: SessionTerminal): CastHeader {
  return castHeader({
    width: t.ptyCols !== null && t.ptyCols > 0 ? t.ptyCols : DEFAULT_SIZE.cols,
    height: t.ptyRows !== null && t.ptyRows > 0 ? t.ptyRows : DEFAULT_SIZE.rows,
    ...(t.startUs === null ? {} : { timestampSec: t.startUs / 1e6 }),
    title: `agentgate session ${sessionId} request ${t.requestId}`,
    ...(t.ptyTerm === null ? {} : { env: { TERM: t.ptyTerm } }),
  });
}

/** The .cast file text of a recorded terminal. */
export function castOf(sessionId: string, t: SessionTerminal): string {
  return castText(castHeaderOf(sessionId, t), t.frames);
}

/** Runs the terminal actions for `session`: 0 done, 3 when no terminal of the session (or of --request) is stored. */
export async function replayTerminal(
  audit: AuditReader,
  database: string,
  session: string,
  actions: TerminalActions,
  io: CliIo,
  effects: TerminalEffects,
): Promise<number> {
  const rows = await audit.rows<TerminalRow>(terminalQuery({ database: quoteIdentifier(database), session: quoteString(session) }));
  const terminal = sessionTerminal(session, rows, actions.request);
  if (terminal === undefined) {
    const which = actions.request === undefined ? 'no shell request' : `request ${JSON.stringify(actions.request)}`;
    io.err(`NOTHING TO REPLAY: ${which} of session ${JSON.stringify(session)} has a terminal recorded in ${database}.events\n`);
    return EXIT.nothingMatched;
  }
  const header = castHeaderOf(session, terminal);
  if (actions.cast !== undefined) {
    const text = castText(header, terminal.frames);
    if (actions.cast === '-') io.out(text);
    else {
      effects.writeFile(actions.cast, text);
      io.err(`wrote ${terminal.frames.length} frames of request ${terminal.requestId} to ${actions.cast}\n`);
    }
  }
  if (actions.play !== undefined) await play(terminal.frames, (s) => io.out(s), { ...actions.play, sleep: effects.sleep });
  if (actions.screen === true) io.out(`${(await finalScreen(header, terminal.frames)).join('\n')}\n`);
  return EXIT.ok;
}
