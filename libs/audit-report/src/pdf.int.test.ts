// Prints a report with the real headless Chromium (Debian's package), then checks the result
// with poppler: every page rasterised is not blank, and the text holds the report's counts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { isGatewayError } from '@agentgate/errors';
import { toHtml } from './html.js';
import { htmlToPdf } from './pdf.js';
import { testReport } from './test-report.js';

const run = promisify(execFile);
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agentgate-pdf-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Share of pixels darker than near-white in a binary PGM (P5, 8-bit). */
function inkShare(pgm: Buffer): number {
  // Header: P5 <width> <height> <maxval>, separated by whitespace, then one byte per pixel.
  const header = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(pgm.subarray(0, 64).toString('latin1'));
  assert.ok(header, 'a binary PGM');
  const [whole, w, h, max] = header;
  assert.equal(max, '255');
  const pixels = pgm.subarray(whole.length);
  assert.equal(pixels.length, Number(w) * Number(h));
  let ink = 0;
  for (const p of pixels) if (p < 200) ink++;
  return ink / pixels.length;
}

test('a report prints to a PDF whose pages are not blank and whose text holds the counts', async () => {
  const report = testReport();
  // Enough rows for a second page, so "each page" means something.
  report.denied.rows = Array.from({ length: 80 }, (_, i) => ({ ...report.denied.rows[0]!, sessionId: `sess-${i}` }));
  report.denied.total = 80;
  const pdf = await htmlToPdf(toHtml(report), { timeoutMs: 90_000 });
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  const pdfFile = join(dir, 'report.pdf');
  await writeFile(pdfFile, pdf);

  await run('pdftoppm', ['-r', '50', '-gray', pdfFile, join(dir, 'page')]);
  const pages = (await readdir(dir)).filter((f) => f.startsWith('page') && f.endsWith('.pgm')).sort();
  assert.ok(pages.length >= 2, `expected at least 2 pages, got ${pages.length}`);
  for (const page of pages) {
    const share = inkShare(await readFile(join(dir, page)));
    assert.ok(share > 0.01, `${page} is blank (${(share * 100).toFixed(2)}% ink)`);
  }

  const { stdout: text } = await run('pdftotext', ['-layout', pdfFile, '-']);
  for (const expected of [
    /denied attempts\s+80/,
    /privileged actions\s+5/,
    /masked cells\s+262/,
    /events verified\s+977/,
    /sessions verified\s+41/,
    /verification findings\s+1/,
    /NOT OK/,
    /c2lnbmF0dXJlLW9uZQ==/,
    /<script>alert\("x"\)<\/script>/,
  ])
    assert.match(text, expected);
});

test('a missing Chromium is a configuration error', async () => {
  await assert.rejects(htmlToPdf('<p>x</p>', { chromiumPath: join(dir, 'no-such-chromium') }), (e) =>
    isGatewayError(e, 'AG_ERR_CONFIG_INVALID'),
  );
});

test('a Chromium that hangs is stopped at the deadline', async () => {
  const fake = join(dir, 'hanging-chromium');
  await writeFile(fake, '#!/bin/sh\nsleep 30\n');
  await chmod(fake, 0o755);
  const started = Date.now();
  await assert.rejects(htmlToPdf('<p>x</p>', { chromiumPath: fake, timeoutMs: 300 }), (e) => isGatewayError(e, 'AG_ERR_INTERNAL'));
  assert.ok(Date.now() - started < 5_000);
});

test('a Chromium that exits without a PDF is an error, not an empty report', async () => {
  const fake = join(dir, 'silent-chromium');
  await writeFile(fake, '#!/bin/sh\necho "cannot open display" >&2\nexit 0\n');
  await chmod(fake, 0o755);
  await assert.rejects(htmlToPdf('<p>x</p>', { chromiumPath: fake }), (e) => isGatewayError(e, 'AG_ERR_INTERNAL'));
});
