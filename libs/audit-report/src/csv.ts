// The report as one CSV (RFC 4180): every line starts with its section and a record type, so a
// spreadsheet can filter one section out of the file:
//   section,record,...        record: `count` (a summary count), `columns` (a table's header), `row`
// Lines are padded to one width, CRLF-terminated, and cells a spreadsheet would run as a
// formula (= + - @, and the tab/CR that some readers strip first) get a leading apostrophe.
import { reportSummary, reportTables, type ComplianceReport } from './report.js';

const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV field: formula-neutralised, then quoted when it holds a comma, quote or line break. */
export function csvField(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The report as CSV text. */
export function toCsv(report: ComplianceReport): string {
  const lines: string[][] = [
    ['report', 'title', report.title],
    ['report', 'period', report.period.since, report.period.until],
    ['report', 'generated', report.generatedAt],
  ];
  for (const c of reportSummary(report)) lines.push([c.section, 'count', c.label, String(c.value)]);
  for (const t of reportTables(report)) {
    const section = t.part === t.section ? t.section : `${t.section}.${t.part}`;
    lines.push([section, 'columns', ...t.columns]);
    for (const row of t.rows) lines.push([section, 'row', ...row]);
  }
  const width = Math.max(...lines.map((l) => l.length));
  const header = ['section', 'record', ...Array.from({ length: width - 2 }, (_, i) => `value${i + 1}`)];
  return [header, ...lines]
    .map((l) => [...l, ...Array<string>(width - l.length).fill('')].map(csvField).join(','))
    .map((l) => `${l}\r\n`)
    .join('');
}
