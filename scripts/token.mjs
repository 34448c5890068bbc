#!/usr/bin/env node
// Kept for callers that predate the CLI (test/support, the dev IdP's tests): the same as
//   npx agentgate token <name> [--on-behalf-of <human>] [--via <agent>] [--ttl <seconds>] [--json]
// stdout carries only the token and a newline; exit codes are the CLI's (docs/cli.md).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../services/cli/bin/agentgate.js', import.meta.url));
const r = spawnSync(process.execPath, [cli, 'token', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
