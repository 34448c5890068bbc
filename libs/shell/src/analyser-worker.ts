// An analyser worker: analyseCommand (mvdan/sh's parser) on its own thread, one command at a
// time. Started by analyser-pool.ts from the compiled file next to it.
import { parentPort } from 'node:worker_threads';
import { analyseCommand } from './analyse.js';
import type { AnalyseRequest, AnalyserFault, AnalyserMessage } from './analyser-worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('analyser-worker.js runs as a worker thread of the shell analyser pool');

// A fresh thread runs the parser's GopherJS code cold: the first analyses take several times
// longer than later ones. Warming up here, before 'ready', keeps a replacement worker (after a
// timeout) from timing out on the ordinary commands that follow.
for (let i = 0; i < 20; i++) analyseCommand("sudo -u x sh -c 'cd /tmp && ls -la | grep -v y > out'; for f in a b; do rm -r $f; done");

port.on('message', (req: AnalyseRequest) => {
  if (req.fault !== undefined) commitFault(req.fault);
  port.postMessage({ type: 'analysed', id: req.id, facts: analyseCommand(req.command) } satisfies AnalyserMessage);
});
port.postMessage({ type: 'ready' } satisfies AnalyserMessage);

function commitFault(fault: AnalyserFault): void {
  switch (fault) {
    case 'hang':
      // Busy, as a parser stuck in a loop would be: the thread never returns to its messages.
      for (;;) Math.random();
    case 'exit':
      process.exit(70);
      break;
    default: {
      const never: never = fault;
      throw new Error(`unknown fault ${String(never)}`);
    }
  }
}
