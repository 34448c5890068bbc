import { createClickHouse } from '@agentgate/clickhouse';
import { toGatewayError } from '@agentgate/errors';
import { parseArgs } from './args.js';
import { loadConfig } from './config.js';
import { USAGE, sessions, verifyChain, type CommandContext } from './commands.js';
import { kill } from './kill.js';
import type { CliConfig } from './config.js';

const COMMANDS: Record<string, (ctx: CommandContext & { config: Readonly<CliConfig> }, flags: Record<string, string>) => Promise<number>> = {
  sessions,
  'verify-chain': verifyChain,
  kill,
};

async function main(argv: string[]): Promise<number> {
  const { command, flags } = parseArgs(argv);
  if (command === 'help' || command === '--help' || flags['help']) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`agentgate: unknown command ${command}\n${USAGE}\n`);
    return 2;
  }
  const config = loadConfig(process.env);
  const clickhouse = createClickHouse({ url: config.clickhouseUrl, database: 'default' });
  try {
    return await run({ config, clickhouse, database: config.clickhouseDatabase, out: (line) => process.stdout.write(`${line}\n`) }, flags);
  } finally {
    await clickhouse.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = toGatewayError(err);
    process.stderr.write(`agentgate: ${e.message} (${e.code})\n`);
    process.exit(1);
  },
);
