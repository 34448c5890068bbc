import assert from 'node:assert/strict';
import { test } from 'node:test';
import { csvField, toCsv } from './csv.js';
import { testReport } from './test-report.js';

/** A strict RFC 4180 reader: the test's own, so it cannot share a bug with the writer. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"' && field === '') {
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        assert.ok(q >= 0, 'unterminated quote');
        field += text.slice(i, q);
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    } else if (c === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else {
      assert.ok(c !== '"' && c !== '\n' && c !== '\r', `bare ${JSON.stringify(c)} at ${i}`);
      field += c;
      i++;
    }
  }
  assert.equal(field, '', 'the last line ends in CRLF');
  assert.equal(row.length, 0);
  return rows;
}

test('fields are quoted only when they must be, quotes doubled', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField('cr\rhere'), '"cr\rhere"');
});

test('cells a spreadsheet would run as a formula get a leading apostrophe', () => {
  for (const bad of ['=1+1', '+cmd|calc', '-2+3', '@SUM(A1)', '\t=1', '\r=1']) assert.equal(csvField(bad).replace(/^"/, '')[0], "'", bad);
  assert.equal(csvField('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
  assert.equal(csvField('a=b'), 'a=b');
});

test('every line has the same width, a section and a record type', () => {
  const rows = parseCsv(toCsv(testReport()));
  const width = rows[0]?.length;
  assert.ok(width !== undefined && width > 10);
  for (const r of rows) assert.equal(r.length, width);
  assert.deepEqual(rows[0]?.slice(0, 3), ['section', 'record', 'value1']);
  const sections = new Set(rows.slice(1).map((r) => r[0]));
  for (const s of ['report', 'access', 'privileged', 'denied', 'masking.masked', 'masking.unmasked', 'policy', 'verification.result'])
    assert.ok(sections.has(s), s);
  for (const r of rows.slice(1)) assert.ok(['title', 'period', 'generated', 'count', 'columns', 'row'].includes(r[1] ?? ''), r[1]);
});

test('the data survives the round trip, hostile text included', () => {
  const rows = parseCsv(toCsv(testReport()));
  const drop = rows.find((r) => r[0] === 'privileged' && r[1] === 'row' && r[6] === 'DropStmt');
  assert.equal(drop?.[7], 'DROP TABLE "a,b" -- <script>alert("x")</script>\nnext line');
  const denied = rows.find((r) => r[0] === 'denied' && r[1] === 'row');
  assert.equal(denied?.[7], "'+cmd|calc");
  const actor = rows.find((r) => r[0] === 'access' && r[1] === 'row' && r[2]?.startsWith('<script>'));
  assert.equal(actor?.[3], `'=HYPERLINK("http://evil")`);
  const policy = rows.find((r) => r[0] === 'policy' && r[1] === 'row');
  assert.equal(policy?.[6], "'@mallory");
  assert.deepEqual(rows.find((r) => r[0] === 'denied' && r[1] === 'count')?.slice(2, 4), ['denied attempts', '3']);
  const sig = rows.filter((r) => r[0] === 'verification.checkpoints' && r[1] === 'row').map((r) => r[7]);
  assert.deepEqual(sig, ['c2lnbmF0dXJlLW9uZQ==', 'c2lnbmF0dXJlLXR3bw==']);
});

test('no line of the output starts a formula, wherever the cell is', () => {
  for (const r of parseCsv(toCsv(testReport()))) for (const cell of r) assert.ok(!/^[=+\-@]/.test(cell), cell);
});
