import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, toHtml } from './html.js';
import { HOSTILE, testReport } from './test-report.js';

test('escapeHtml escapes the five characters that matter', () => {
  assert.equal(escapeHtml(`<a href="x" onclick='y'>&amp;</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;');
});

test('no value from the data reaches the page unescaped', () => {
  const html = toHtml(testReport({ title: `Report ${HOSTILE}` }));
  assert.ok(!html.includes('<script'), 'a <script> from the data must not appear');
  assert.ok(!html.includes('alert("x")'), 'quotes are escaped too');
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;'));
  // The only tags are the page's own.
  const tags = new Set([...html.matchAll(/<\/?([a-zA-Z0-9!]+)/g)].map((m) => m[1]?.toLowerCase()));
  for (const t of tags) {
    assert.ok(
      [
        '!doctype',
        'html',
        'head',
        'meta',
        'title',
        'style',
        'body',
        'h1',
        'h2',
        'h3',
        'p',
        'br',
        'span',
        'table',
        'thead',
        'tbody',
        'tr',
        'th',
        'td',
      ].includes(t ?? ''),
      `unexpected tag ${t}`,
    );
  }
});

test('the page is self-contained: no script, no external resource', () => {
  const html = toHtml(testReport());
  assert.ok(!/<script|<link|<img|src=|href=|url\(/i.test(html));
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
});

test('title, period and the given generation time are shown', () => {
  const html = toHtml(testReport());
  assert.match(html, /<title>agentgate compliance report<\/title>/);
  assert.match(html, /Period: 2026-11-01T00:00:00.000Z to 2026-11-02T00:00:00.000Z/);
  assert.match(html, /Generated: 2026-11-02T00:05:00.000Z/);
  assert.equal(toHtml(testReport()), html, 'the same data renders the same page');
});

test('every section is there with its counts, and print CSS', () => {
  const html = toHtml(testReport());
  for (const heading of [
    'Access by identity (2)',
    'Privileged actions and their approvals (2)',
    'Denied attempts (1)',
    'Masking exposure: what masking hid, by rule or detector (2)',
    'Masking exposure: sensitive columns seen unmasked (1)',
    'Policy changes (1)',
    'Verification findings (1)',
    'Checkpoints and their signatures (2)',
    'Trusted public keys (1)',
  ])
    assert.ok(html.includes(heading), heading);
  assert.match(html, /<td>denied attempts<\/td><td class="num">3<\/td>/);
  assert.match(html, /showing the first 2 of 5/);
  assert.match(html, /audit log verification: NOT OK \(1 findings\)/);
  assert.match(html, /c2lnbmF0dXJlLXR3bw==/);
  assert.match(html, /<td class="bad">INVALID<\/td>/);
  assert.match(html, /@page \{ size: A4 landscape/);
  assert.match(html, /@media print/);
});

test('an empty section says so instead of an empty table', () => {
  const html = toHtml(testReport({ policyChanges: [] }));
  assert.match(html, /Policy changes \(0\)<\/h2>\n<p class="empty">none in this period<\/p>/);
});
