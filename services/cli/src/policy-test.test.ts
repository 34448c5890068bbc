// `agentgate policy test`: the demo policy passes (exit 0); a wrong expectation fails (exit 1)
// and names the rule that decided; a policy that does not compile says where (exit 1).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from './program.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { io: { out: (s) => (stdout += s), err: (s) => (stderr += s) }, env: {}, repoRoot: ROOT, version: '0' });
  return { code, stdout, stderr };
}

function copyOfDemo(edit: (name: string, text: string) => string): string {
  const dir = mkdtempSync(join(tmpdir(), 'policy-test-'));
  for (const name of ['policy.yaml', 'tests.yaml', 'mcp-pins.yaml'])
    writeFileSync(join(dir, name), edit(name, readFileSync(join(ROOT, 'deploy/policies/demo', name), 'utf8')));
  return dir;
}

test('given the demo policy, when tested, then exit 0 and a summary with the version', async () => {
  const r = await cli('policy', 'test', join(ROOT, 'deploy/policies/demo'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\d+ passed, 0 failed \(demo@[0-9a-f]{12}, \d+ cases\)\n$/);
});

test('given a wrong expectation, when tested, then exit 1 and the failure names the deciding rule', async () => {
  const dir = copyOfDemo((name, text) =>
    name === 'tests.yaml' ? text.replace('expect: { decision: deny, rule: deny-truncate }', 'expect: { decision: allow }') : text,
  );
  const r = await cli('policy', 'test', dir);
  assert.equal(r.code, 1);
  assert.match(
    r.stdout,
    /FAIL {2}TRUNCATE \(tests\.yaml:\d+\)\n {6}expected allow\n {6}got {6}deny by deny-truncate: TRUNCATE is not allowed\n/,
  );
  assert.match(r.stderr, /1 failed/);
});

test('given a policy that does not compile, when tested, then exit 1 with file and line', async () => {
  const dir = copyOfDemo((name, text) => (name === 'policy.yaml' ? text.replace('action: approve', 'action: ask') : text));
  const r = await cli('policy', 'test', dir, '--json');
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as { ok: boolean; errors: { file: string; line: number; message: string }[] };
  assert.equal(out.ok, false);
  assert.equal(out.errors[0]?.file, 'policy.yaml');
  assert.match(out.errors[0]!.message, /action: expected one of/);
});
