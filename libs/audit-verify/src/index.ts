export {
  checkpointChainId,
  checkpointSignedText,
  keyIdOf,
  publicKeyBase64,
  signCheckpoint,
  verifyCheckpointSignature,
  type CheckpointBody,
  type SignatureCheck,
  type TrustedKey,
} from './checkpoint.js';
export type { CheckedCheckpoint, Finding, FindingKind, VerificationReport } from './findings.js';
export { cellMatches, checkpointNamedSessions, isoToUs, verifyAudit, type StoredEventRow, type VerifyInput } from './verify.js';
export {
  EXPORT_FORMAT,
  EXPORT_VERSION,
  createExportReader,
  exportLines,
  parseExport,
  serializeExport,
  type ExportHeader,
  type ExportInput,
  type ExportReader,
} from './export-file.js';
export { storedRow, world as sampleAuditLog, type World as SampleAuditLog } from './test-world.js';
export {
  checkpointRowsQuery,
  namedSessionsQuery,
  parseTrustedKeys,
  readScopeRows,
  retentionRowsQuery,
  sessionRowsQuery,
  type RowQuery,
  type RowScope,
} from './scope.js';
export {
  checkProjections,
  readProjections,
  withProjectionFindings,
  type Projected,
  type ProjectedRequest,
  type ProjectedSession,
} from './projections-check.js';
export { verifyStored } from './online.js';
