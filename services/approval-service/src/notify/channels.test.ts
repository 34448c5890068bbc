import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { isGatewayError } from '@agentgate/errors';
import { loadChannels, parseChannels, type ParseOptions } from './channels.js';

const SECRET = 'sixteen-bytes-or-more-secret';
const files: Record<string, string> = { '/etc/ag/hook.secret': `${SECRET}\n`, '/etc/ag/short.secret': 'too-short\n' };
const options: ParseOptions = {
  baseDir: '/etc/ag',
  readSecret: (path) => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error('nope'), { code: 'ENOENT' });
    return Buffer.from(text);
  },
};

const good = {
  channels: {
    'ops-webhook': { url: 'https://hooks.example.com/approvals', format: 'json', secretFile: 'hook.secret' },
    'team-slack': { url: 'https://hooks.slack.com/services/T000/B000/XXXXSECRETPATH', format: 'slack', timeoutMs: 2000 },
  },
};

function invalid(doc: unknown, message: RegExp): void {
  assert.throws(
    () => parseChannels(doc, 'channels.json', options),
    (error: unknown) => isGatewayError(error, 'AG_ERR_CONFIG_INVALID') && message.test(error.message),
    String(message),
  );
}

test('a good file: names, formats, defaults, relative secret files and origins', () => {
  const set = parseChannels(good, 'channels.json', options);
  assert.deepEqual([...set.keys()], ['ops-webhook', 'team-slack']);
  const ops = set.get('ops-webhook')!;
  assert.equal(ops.format, 'json');
  assert.equal(ops.timeoutMs, 5000);
  assert.equal(ops.origin, 'https://hooks.example.com');
  // The trailing newline of the file is not part of the key.
  assert.equal(ops.secret?.bytes().toString(), SECRET);
  const slack = set.get('team-slack')!;
  assert.equal(slack.secret, null);
  assert.equal(slack.timeoutMs, 2000);
  assert.equal(slack.origin, 'https://hooks.slack.com');
});

test('a channel prints and serialises without its secret', () => {
  const ops = parseChannels(good, 'channels.json', options).get('ops-webhook')!;
  assert.doesNotMatch(JSON.stringify(ops), new RegExp(SECRET));
  assert.doesNotMatch(inspect(ops, { depth: 5 }), new RegExp(SECRET));
  assert.doesNotMatch(`${ops.secret}`, new RegExp(SECRET));
});

test('each invalid case is AG_ERR_CONFIG_INVALID naming the problem', () => {
  const channel = (spec: unknown, name = 'c1'): unknown => ({ channels: { [name]: spec } });
  const json = { url: 'https://x.example/h', format: 'json', secretFile: 'hook.secret' };
  invalid(null, /must hold an object/);
  invalid({}, /must hold an object/);
  invalid({ channels: [] }, /must hold an object/);
  invalid({ channels: {}, extra: 1 }, /extra is not a top-level setting/);
  invalid(channel(json, 'Bad_Name'), /channel name "Bad_Name" must match/);
  invalid(channel(json, '-lead'), /must match/);
  invalid(channel('https://x'), /channels\.c1 must be an object/);
  invalid(channel({ ...json, url: undefined }), /c1\.url must be a non-empty string/);
  invalid(channel({ ...json, url: 'not a url' }), /c1\.url is not a valid URL/);
  invalid(channel({ ...json, url: 'ftp://x.example/h' }), /c1\.url must be http or https \(got ftp\)/);
  invalid(channel({ ...json, format: 'teams' }), /c1\.format must be "slack" or "json"/);
  invalid(channel({ url: json.url, format: 'json' }), /c1\.secretFile is required for format "json"/);
  invalid(channel({ ...json, secretFile: 'missing.secret' }), /secretFile \/etc\/ag\/missing\.secret cannot be read \(ENOENT\)/);
  invalid(channel({ ...json, secretFile: 'short.secret' }), /holds 9 bytes; a secret needs at least 16/);
  invalid(channel({ ...json, secretFile: 42 }), /c1\.secretFile must be a non-empty string/);
  invalid(channel({ ...json, timeoutMs: 0 }), /c1\.timeoutMs must be an integer/);
  invalid(channel({ ...json, timeoutMs: 1.5 }), /c1\.timeoutMs must be an integer/);
  invalid(channel({ ...json, timeoutMs: '5000' }), /c1\.timeoutMs must be an integer/);
  invalid(channel({ ...json, secretfile: 'x' }), /c1\.secretfile is not a channel setting/);
});

test('every problem is named at once, and a URL is never echoed', () => {
  const url = 'https://hooks.slack.com/services/T000/B000/XXXXSECRETPATH';
  try {
    parseChannels({ channels: { A: { url: `${url} bad`, format: 'json' }, b: { url, format: 'x' } } }, 'f.json', options);
    assert.fail('accepted');
  } catch (error) {
    assert.ok(isGatewayError(error, 'AG_ERR_CONFIG_INVALID'));
    assert.match(error.message, /channel name "A"/);
    assert.match(error.message, /channels\.b\.format/);
    assert.doesNotMatch(error.message, /SECRETPATH/);
  }
});

test('loadChannels: undefined is no channels; a file resolves secrets beside itself; unreadable and non-JSON files are refused', () => {
  assert.equal(loadChannels(undefined).size, 0);
  const dir = mkdtempSync(join(tmpdir(), 'notify-channels-'));
  try {
    mkdirSync(join(dir, 'secrets'));
    writeFileSync(join(dir, 'secrets', 'hook'), SECRET);
    writeFileSync(
      join(dir, 'channels.json'),
      JSON.stringify({
        channels: { 'ops-webhook': { url: 'http://127.0.0.1:18089/hooks/approvals', format: 'json', secretFile: 'secrets/hook' } },
      }),
    );
    const set = loadChannels(join(dir, 'channels.json'));
    assert.equal(set.get('ops-webhook')?.secret?.bytes().toString(), SECRET);
    writeFileSync(join(dir, 'broken.json'), '{ "channels": ');
    for (const file of [join(dir, 'broken.json'), join(dir, 'absent.json')]) {
      assert.throws(
        () => loadChannels(file),
        (e: unknown) => isGatewayError(e, 'AG_ERR_CONFIG_INVALID') && e.message.includes(file),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the local stack file parses once its secret exists', () => {
  const file = new URL('../../../../deploy/approval-channels.json', import.meta.url).pathname;
  const set = parseChannels(JSON.parse(readFileSync(file, 'utf8')), file, {
    baseDir: join(file, '..'),
    readSecret: () => Buffer.from(SECRET),
  });
  assert.equal(set.get('ops-webhook')?.url, 'http://127.0.0.1:18089/hooks/approvals');
  assert.equal(set.get('ops-webhook')?.format, 'json');
});
