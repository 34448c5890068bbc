import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { encodePolicyPublished, fromPolicyAvro, policyEventType, validatePolicyPublished } from '@agentgate/events';
import { publicationOf } from './policy-publish.js';
import { run } from './program.js';

const hash = 'ab'.repeat(32);
const candidate = {
  name: 'demo',
  version: `demo@${hash.slice(0, 12)}`,
  contentHash: hash,
  files: [{ name: 'rules.yaml', text: 'rules: []\n' }],
};
const ids = { eventId: '6f1c2d3e-0000-4000-8000-000000000001', timeUs: 1_795_000_000_000_000, producer: 'cli/test/1' };

test('a publication names the policy, its version and hash, its files and the verified publisher', () => {
  const p = publicationOf(candidate, { subject: 'erin', issuer: 'http://127.0.0.1:14000' }, true, ids);
  assert.equal(p.version, 'demo@abababababab');
  assert.equal(p.publishedBy, 'erin');
  assert.equal(p.shadow, true);
  assert.deepEqual(p.files, candidate.files);
  const type = policyEventType();
  assert.deepEqual(fromPolicyAvro(type.fromBuffer(encodePolicyPublished(p, type))), p);
});

test('a publication whose version does not match its hash is refused before it is encoded', () => {
  const p = publicationOf({ ...candidate, version: 'demo@000000000000' }, { subject: 'erin', issuer: 'i' }, false, ids);
  assert.throws(
    () => validatePolicyPublished(p),
    (e: { code?: string }) => e.code === 'AG_ERR_EVENT_INVALID',
  );
});

const ENV = { AG_CLICKHOUSE_URL: 'http://127.0.0.1:9', AG_KAFKA_BROKERS: '127.0.0.1:9', AG_REGISTRY_URL: 'http://127.0.0.1:9' };
async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    io: { out: (s) => (stdout += s), err: (s) => (stderr += s) },
    env: ENV,
    repoRoot: fileURLToPath(new URL('../../../', import.meta.url)),
    version: '0.0.0',
  });
  return { code, stdout, stderr };
}

test('policy publish and replay have help, and refuse unknown flags with exit code 2', async () => {
  for (const sub of ['publish', 'replay']) {
    const help = await cli('policy', sub, '--help');
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, new RegExp(`^Usage: agentgate policy ${sub} `));
    assert.match(help.stdout, /--json/);
    assert.equal((await cli('policy', sub, 'x', '--no-such-flag')).code, 2);
  }
});

test('policy publish without a token publishes nothing (AG_ERR_AUTH_REQUIRED, exit 1)', async () => {
  const r = await cli('policy', 'publish', '/nonexistent');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^agentgate policy publish: .*AG_ERR_AUTH_REQUIRED/);
});

test('policy replay errors exit 2, never 1 (1 means a decision would change)', async () => {
  const badTime = await cli('policy', 'replay', '--policy', '/nonexistent', '--since', 'yesterday');
  assert.equal(badTime.code, 2);
  assert.match(badTime.stderr, /not a time/);
  const badDir = await cli('policy', 'replay', '--policy', '/nonexistent', '--since', '1h');
  assert.equal(badDir.code, 2);
  assert.match(badDir.stderr, /cannot read the policy directory/);
});
