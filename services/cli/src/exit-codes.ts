// The CLI's edge mapping: error codes to exit codes and to the next step a user can take.
// Like the ingress's SQLSTATE table, nothing else in the CLI knows about exit codes.
import { isGatewayError, type ErrorCode, type GatewayError } from '@agentgate/errors';

/** Exit codes of every command (docs/cli.md lists them). */
export const EXIT = Object.freeze({
  ok: 0,
  /** The command ran and failed, or found something broken (a hash chain, a refused token). */
  failure: 1,
  /** The command line or the configuration is wrong; nothing was done. */
  usage: 2,
  /** verify-chain: no session matched, so nothing was verified (never a pass). */
  nothingMatched: 3,
});

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const STATUS_HINT = '`npm run status` shows which parts of the local stack are up (start it with `npm start`)';
const TOKEN_HINT = 'get a fresh token: export AGENTGATE_TOKEN=$(npx agentgate token <identity>)';

/** What to tell the user next, by error code; undefined when the message says it all. */
export function hintFor(code: ErrorCode): string | undefined {
  // UPSTREAM_UNAVAILABLE: in the CLI, the approval service (the only HTTP service it calls by that code).
  if (code === 'AG_ERR_AUDIT_UNAVAILABLE' || code === 'AG_ERR_IDP_UNAVAILABLE' || code === 'AG_ERR_UPSTREAM_UNAVAILABLE')
    return STATUS_HINT;
  if (code === 'AG_ERR_AUTH_REQUIRED' || code.startsWith('AG_ERR_TOKEN_')) return TOKEN_HINT;
  return undefined;
}

/** The exit code for an error a command threw. */
export function exitCodeFor(error: GatewayError): ExitCode {
  return error.code === 'AG_ERR_CONFIG_INVALID' ? EXIT.usage : EXIT.failure;
}

/** The lines printed on stderr for a failed command: message with code, then the hint. */
export function describeFailure(command: string, error: unknown): { exitCode: ExitCode; text: string } {
  if (!isGatewayError(error)) {
    // Not one of ours: say so plainly; the stack trace is for a debugger, not the terminal.
    const message = error instanceof Error ? error.message : String(error);
    return { exitCode: EXIT.failure, text: `agentgate ${command}: unexpected error: ${message} (AG_ERR_INTERNAL)\n` };
  }
  const hint = hintFor(error.code);
  return {
    exitCode: exitCodeFor(error),
    text: `agentgate ${command}: ${error.message} (${error.code})\n${hint ? `  ${hint}\n` : ''}`,
  };
}
