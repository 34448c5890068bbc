#!/usr/bin/env node
// Prints an access token from the dev IdP for one of its demo identities:
//   node scripts/token.mjs <name> [--on-behalf-of <human>] [--via <agent>] [--ttl <seconds>]
// stdout carries only the token and a newline (so `$(node scripts/token.mjs demo-agent)` works);
// errors go to stderr with exit code 1. The client secret is never printed.
// Env: AG_DEV_IDP_CLIENTS_FILE (default .stack/secrets/dev-idp-clients.json under the repo root),
//      AG_DEV_IDP_ISSUER (default http://127.0.0.1:14000).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const usage = 'usage: node scripts/token.mjs <name> [--on-behalf-of <human>] [--via <agent>] [--ttl <seconds>]';

function fail(message) {
  process.stderr.write(`token: ${message}\n`);
  process.exit(1);
}

let args;
try {
  args = parseArgs({
    allowPositionals: true,
    options: {
      'on-behalf-of': { type: 'string' },
      via: { type: 'string' },
      ttl: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  fail(`${err.message}\n${usage}`);
}
if (args.values.help) {
  process.stderr.write(`${usage}\n`);
  process.exit(0);
}
if (args.positionals.length !== 1) fail(usage);
const [name] = args.positionals;

const clientsFile = process.env.AG_DEV_IDP_CLIENTS_FILE || resolve(repoRoot, '.stack/secrets/dev-idp-clients.json');
const issuer = (process.env.AG_DEV_IDP_ISSUER || 'http://127.0.0.1:14000').replace(/\/+$/, '');

let clients;
try {
  clients = JSON.parse(readFileSync(clientsFile, 'utf8'));
} catch (err) {
  fail(`cannot read the clients file ${clientsFile} (${err.code ?? err.name}); is the dev IdP started?`);
}
if (typeof clients !== 'object' || clients === null || Array.isArray(clients)) fail(`${clientsFile} is not a JSON object`);
const secret = Object.hasOwn(clients, name) ? clients[name] : undefined;
if (typeof secret !== 'string') {
  fail(`unknown identity ${JSON.stringify(name)}; known: ${Object.keys(clients).sort().join(', ')}`);
}

async function fetchJson(url, init, what) {
  let response;
  try {
    response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    // fetch wraps the socket error; its code (ECONNREFUSED, ...) is the useful part.
    const reason = err.cause?.code ?? err.cause?.errors?.[0]?.code ?? err.cause?.message ?? err.message;
    fail(`${what}: cannot reach ${url} (${reason})`);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    fail(`${what}: ${url} answered ${response.status} without JSON`);
  }
  return { response, body };
}

const discovery = await fetchJson(`${issuer}/.well-known/openid-configuration`, {}, 'discovery');
if (!discovery.response.ok || typeof discovery.body.token_endpoint !== 'string') {
  fail(`discovery at ${issuer} answered ${discovery.response.status} without a token_endpoint`);
}

const form = new URLSearchParams({ grant_type: 'client_credentials' });
if (args.values['on-behalf-of'] !== undefined) form.set('on_behalf_of', args.values['on-behalf-of']);
if (args.values.via !== undefined) form.set('via', args.values.via);
if (args.values.ttl !== undefined) form.set('ttl', args.values.ttl);

// RFC 6749 section 2.3.1: id and secret are form-urlencoded before they are joined for Basic.
const basic = Buffer.from(`${encodeURIComponent(name)}:${encodeURIComponent(secret)}`).toString('base64');
const { response, body } = await fetchJson(discovery.body.token_endpoint, {
  method: 'POST',
  headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
  body: form,
}, 'token request');

if (!response.ok || typeof body.access_token !== 'string') {
  const reason = typeof body.error === 'string' ? `${body.error}${body.error_description ? `: ${body.error_description}` : ''}` : 'no access_token in the answer';
  fail(`token request for ${name} refused (${response.status} ${reason})`);
}
process.stdout.write(`${body.access_token}\n`);
