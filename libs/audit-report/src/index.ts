export {
  reportSummary,
  reportTables,
  toJson,
  type AccessRow,
  type ComplianceReport,
  type DeniedAttempt,
  type Listing,
  type MaskedCells,
  type PolicyChange,
  type PrivilegedAction,
  type ReportPeriod,
  type ReportTable,
  type SectionId,
  type SummaryCount,
  type UnmaskedExposure,
} from './report.js';
export { csvField, toCsv } from './csv.js';
export { escapeHtml, toHtml } from './html.js';
export { chromiumArgs, htmlToPdf, type PdfOptions } from './pdf.js';
export {
  buildTranscript,
  transcriptText,
  replayQuery,
  REPLAY_COLUMNS,
  type ReplayRow,
  type Transcript,
  type TranscriptApproval,
  type TranscriptApprovalDecision,
  type TranscriptMasking,
  type TranscriptRequest,
  type TranscriptResponse,
  type TranscriptSessionEnd,
  type TranscriptSessionStart,
  type TranscriptTerminal,
  type TranscriptVerdict,
} from './replay.js';
export { sshKind, sshRequestOf, sshText, type TranscriptSsh } from './ssh-request.js';
export { httpRequestOf, httpText, responseBodyOf, type TranscriptBody, type TranscriptHttp } from './http-request.js';
export { mcpRequestOf, mcpText, type TranscriptMcp } from './mcp-request.js';
export {
  sessionTerminal,
  type SessionTerminal,
  type SessionTerminalFrame,
  TERMINAL_COLUMNS,
  terminalQuery,
  terminalRequestIds,
  type TerminalRow,
} from './terminal.js';
