// The report as one self-contained HTML page: inline CSS (screen and print), no script, no
// external resource, so it renders the same offline, in a mail client and in headless Chromium.
// Every value from the audit log is untrusted text (statements, identities, rule ids): all of
// it goes through escapeHtml, nothing is inserted raw.
import { reportSummary, reportTables, type ComplianceReport, type ReportTable } from './report.js';

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in HTML element content and in quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

const CSS = `
:root { color-scheme: light; }
body { font: 10.5pt/1.4 "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #111; margin: 24px; }
h1 { font-size: 18pt; margin: 0 0 4px; }
h2 { font-size: 13pt; margin: 22px 0 6px; border-bottom: 1px solid #999; padding-bottom: 2px; }
h3 { font-size: 11pt; margin: 14px 0 4px; }
.meta { color: #444; margin: 0 0 12px; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { border: 1px solid #bbb; padding: 3px 5px; text-align: left; vertical-align: top; }
th { background: #eee; }
td { overflow-wrap: anywhere; word-break: break-word; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.time { white-space: nowrap; font-size: 8.5pt; }
td.mono { min-width: 14em; }
.mono { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 9pt; }
.empty { color: #666; font-style: italic; }
.note { color: #444; font-size: 9pt; }
.ok { color: #0a5d00; font-weight: bold; }
.bad { color: #a00000; font-weight: bold; }
@page { size: A4 landscape; margin: 12mm 10mm; }
@media print {
  body { margin: 0; font-size: 9pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; page-break-inside: avoid; }
}
`;

// Columns whose values are numbers (right-aligned) or machine text (monospace).
const NUMERIC = new Set(['sessions', 'requests', 'denied', 'cells', 'results', 'rows', 'seq', 'heads', 'findings', 'checkpoints']);
const MONO = new Set(['statement', 'session', 'signature (base64)', 'public key', 'key id', 'content hash', 'approval']);

function classes(column: string, value?: string): string {
  const names: string[] = [];
  if (NUMERIC.has(column) || column.endsWith(' checked')) names.push('num');
  else if (MONO.has(column)) names.push('mono');
  else if (column === 'at' || column === 'covered until') names.push('time');
  // The verdicts a reader must not miss are coloured; the text says it too.
  if (value === 'OK' || value === 'valid') names.push('ok');
  if (value === 'NOT OK' || value === 'INVALID') names.push('bad');
  return names.length === 0 ? '' : ` class="${names.join(' ')}"`;
}

function renderTable(t: ReportTable, heading: 'h2' | 'h3'): string {
  const title = `<${heading} id="${escapeHtml(`${t.section}-${t.part}`)}">${escapeHtml(t.title)} (${t.rows.length})</${heading}>`;
  if (t.rows.length === 0) return `${title}\n<p class="empty">none in this period</p>`;
  const head = t.columns.map((c) => `<th${classes(c)}>${escapeHtml(c)}</th>`).join('');
  const body = t.rows
    .map((row) => {
      const cells = row.map((v, i) => `<td${classes(t.columns[i] ?? '', v)}>${escapeHtml(v)}</td>`);
      return `<tr>${cells.join('')}</tr>`;
    })
    .join('\n');
  const note = t.note === undefined ? '' : `\n<p class="note">${escapeHtml(t.note)}</p>`;
  return `${title}\n<table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>${note}`;
}

/** The report as a complete HTML document. */
export function toHtml(report: ComplianceReport): string {
  const summary = reportSummary(report)
    .map((c) => `<tr><td>${escapeHtml(c.label)}</td><td class="num">${c.value}</td></tr>`)
    .join('\n');
  const parts: string[] = [];
  const tables = reportTables(report);
  let section = '';
  for (const t of tables) {
    // A section with several tables gets one heading and a sub-heading per table.
    const multi = tables.filter((x) => x.section === t.section).length > 1;
    if (multi && t.section !== section) parts.push(`<h2>${escapeHtml(SECTION_TITLES[t.section])}</h2>`);
    section = t.section;
    parts.push(renderTable(t, multi ? 'h3' : 'h2'));
  }
  const v = report.verification;
  const verdict =
    v === null
      ? '<span class="bad">verification not run</span>'
      : v.ok
        ? '<span class="ok">audit log verified: OK</span>'
        : `<span class="bad">audit log verification: NOT OK (${v.findings.length} findings)</span>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(report.title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>${escapeHtml(report.title)}</h1>
<p class="meta">Period: ${escapeHtml(report.period.since)} to ${escapeHtml(report.period.until)}<br>
Generated: ${escapeHtml(report.generatedAt)}<br>
${verdict}</p>
<h2>Summary</h2>
<table class="summary">
<thead><tr><th>count</th><th class="num">value</th></tr></thead>
<tbody>
${summary}
</tbody>
</table>
${parts.join('\n')}
</body>
</html>
`;
}

const SECTION_TITLES: Record<ReportTable['section'], string> = {
  access: 'Access by identity',
  privileged: 'Privileged actions and their approvals',
  denied: 'Denied attempts',
  masking: 'Masking exposure',
  policy: 'Policy changes',
  verification: 'Verification and checkpoint signatures',
};
