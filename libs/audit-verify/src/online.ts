// Verification of what ClickHouse holds: the rows of a scope (scope.ts), verifyAudit over them,
// and the projections checked against the same rows. What `agentgate verify`, the report and
// the audit API run; only the query function is theirs.
import type { TrustedKey } from './checkpoint.js';
import type { VerificationReport } from './findings.js';
import { checkProjections, readProjections, withProjectionFindings } from './projections-check.js';
import { readScopeRows, type RowQuery, type RowScope } from './scope.js';
import { verifyAudit } from './verify.js';

/** Verifies the scope's rows and, where the database has them, its projections. */
export async function verifyStored(
  query: RowQuery,
  database: string,
  scope: RowScope,
  trustedKeys: readonly TrustedKey[],
): Promise<VerificationReport> {
  const rows = await readScopeRows(query, database, scope);
  const since = scope.sinceUs === null ? null : new Date(Math.floor(scope.sinceUs / 1000)).toISOString();
  const report = verifyAudit({ since, rows, trustedKeys });
  const projected = await readProjections(query, database, rows);
  return projected === undefined ? report : withProjectionFindings(report, checkProjections(rows, projected));
}
