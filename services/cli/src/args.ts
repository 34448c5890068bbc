// Parses `agentgate <command> [--flag value]...` into a command and flags.
import { GatewayError } from '@agentgate/errors';

export interface ParsedArgs {
  command: string;
  flags: Record<string, string>;
}

/** Splits argv (without node and script) into the command and its --flags. */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const [command = 'help', ...rest] = argv;
  const flags: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith('--')) throw new GatewayError('AG_ERR_CONFIG_INVALID', `unexpected argument ${arg}`);
    const [name, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
    if (inline !== undefined) flags[name] = inline;
    else if (rest[i + 1] !== undefined && !rest[i + 1]!.startsWith('--')) flags[name] = rest[++i]!;
    else flags[name] = 'true';
  }
  return { command, flags };
}
