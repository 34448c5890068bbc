// The offline export: what is written reads back row for row and verifies the same without the
// stack; a malformed file is refused with AG_ERR_EXPORT_INVALID, never verified as empty.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isGatewayError } from '@agentgate/errors';
import { parseExport, serializeExport } from './export-file.js';
import { A, world } from './test-world.js';
import { verifyAudit } from './verify.js';

const meta = { since: '2026-11-27T00:00:00.000Z', until: null, exportedAt: '2026-11-28T12:00:00.000Z' };

test('given an export of a log, when read back, then rows and verification are the same as online', () => {
  const w = world();
  const text = serializeExport({ ...meta, rows: w.rows });
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, w.rows.length + 1);
  assert.deepEqual(JSON.parse(lines[0] ?? ''), {
    format: 'agentgate-audit-export',
    version: 1,
    ...meta,
    rows: w.rows.length,
  });
  const { header, rows } = parseExport(text);
  assert.equal(header.since, meta.since);
  assert.deepEqual(rows, w.rows);
  const offline = verifyAudit({ since: header.since, rows, trustedKeys: w.signer.trusted });
  assert.deepEqual(offline, verifyAudit({ since: meta.since, rows: w.rows, trustedKeys: w.signer.trusted }));
  assert.equal(offline.ok, true);
});

test('given an export whose sql_text was edited in the file, then it parses and the verifier names the cell', () => {
  const w = world();
  const text = serializeExport({ ...meta, rows: w.rows }).replace('select \'ünïcödé\', 1","decision', 'select 2","decision');
  const { rows } = parseExport(text);
  const report = verifyAudit({ since: null, rows, trustedKeys: w.signer.trusted });
  const failed = report.findings.filter((f) => f.kind !== 'uncovered').map((f) => [f.kind, f.sessionId, f.seq, f.column]);
  // The first RequestObserved row in the file is A's seq 1.
  assert.deepEqual(failed, [['column-mismatch', A, 1, 'sql_text']]);
  assert.equal(report.ok, false);
});

function refused(text: string): void {
  assert.throws(
    () => parseExport(text),
    (e: unknown) => isGatewayError(e, 'AG_ERR_EXPORT_INVALID'),
  );
}

test('given a malformed export, then it is refused with AG_ERR_EXPORT_INVALID', () => {
  const w = world();
  const good = serializeExport({ ...meta, rows: w.rows.slice(0, 3) });
  const [header, first, second, third] = good.trimEnd().split('\n');
  refused('');
  refused(`${header}\n${first}\n{not json\n${third}\n`);
  refused(`${header}\n${first}\n[1,2]\n${third}\n`);
  refused(`${header}\n${first}\n${second}\n`); // cut: fewer rows than announced
  refused(`${header}\n${first}\n\n${second}\n${third}\n`);
  refused(good.replace('agentgate-audit-export', 'something-else'));
  refused(good.replace('"version":1', '"version":2'));
  refused(good.replace('"exportedAt":"2026-11-28T12:00:00.000Z"', '"exportedAt":"yesterday"'));
  const row = JSON.parse(second ?? '') as Record<string, unknown>;
  refused(`${header}\n${first}\n${JSON.stringify({ ...row, seq: 'two' })}\n${third}\n`);
  refused(`${header}\n${first}\n${JSON.stringify({ ...row, hash: undefined })}\n${third}\n`);
  assert.equal(parseExport(good).rows.length, 3);
});
