// `npx agentgate`: runs one command and exits with its code (see exit-codes.ts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { run } from './program.js';

// Compiled to services/cli/dist/main.js: the package is one level up, the checkout three.
const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

const code = await run(process.argv.slice(2), {
  io: { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
  env: process.env,
  repoRoot,
  version,
});
// Exit explicitly: a client library may keep a socket or timer alive after the command ended.
// Flushing first keeps piped output complete.
process.stdout.write('', () => process.exit(code));
