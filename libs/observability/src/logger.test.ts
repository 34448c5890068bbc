import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from './index.js';

test('secrets and payloads are redacted from log lines', () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = createLogger({ service: 'test', destination });
  log.info({ password: 'hunter2', session: { token: 'eyJhbGciOi' }, sql: 'select secret', ok: 1 }, 'hello');
  const out = lines.join('');
  assert.ok(!out.includes('hunter2'));
  assert.ok(!out.includes('eyJhbGciOi'));
  assert.ok(!out.includes('select secret'));
  assert.ok(out.includes('"ok":1'));
});
