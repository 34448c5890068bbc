#!/usr/bin/env node
// Entry point of `npx agentgate`; the command itself is compiled TypeScript (npm run build).
import('../dist/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('agentgate: not built yet; run `npm start` or `npm run build` first\n');
    process.exit(2);
  }
  throw err;
});
