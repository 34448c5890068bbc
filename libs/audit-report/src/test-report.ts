// A small report for the tests: hostile text in the places an attacker controls (statements,
// identities, rule ids), and counts that are easy to look for in the rendered output.
import type { VerificationReport } from '@agentgate/audit-verify';
import type { ComplianceReport } from './report.js';

export const HOSTILE = `<script>alert("x")</script>`;

export function testVerification(overrides: Partial<VerificationReport> = {}): VerificationReport {
  return {
    since: '2026-11-01T00:00:00.000Z',
    sessionsChecked: 41,
    eventsChecked: 977,
    checkpoints: [
      {
        checkpointerId: 'checkpointer-1',
        seq: 7,
        keyId: 'k-2f1e',
        coveredUntilUs: 1_795_895_333_225_000,
        heads: 41,
        signature: 'c2lnbmF0dXJlLW9uZQ==',
        valid: true,
      },
      {
        checkpointerId: 'checkpointer-1',
        seq: 8,
        keyId: 'k-2f1e',
        coveredUntilUs: 1_795_895_393_225_000,
        heads: 41,
        signature: 'c2lnbmF0dXJlLXR3bw==',
        valid: false,
      },
    ],
    trustedKeys: [{ keyId: 'k-2f1e', publicKey: 'MCowBQYDK2VwAyEAtrustedpublickeybase64AAAAAAAAAAAAAAAAAA=' }],
    findings: [{ kind: 'missing', sessionId: 'sess-9', seq: 4, detail: 'seq 4 is absent, seq 5 follows' }],
    ok: false,
    ...overrides,
  };
}

export function testReport(overrides: Partial<ComplianceReport> = {}): ComplianceReport {
  return {
    title: 'agentgate compliance report',
    period: { since: '2026-11-01T00:00:00.000Z', until: '2026-11-02T00:00:00.000Z' },
    generatedAt: '2026-11-02T00:05:00.000Z',
    access: [
      { subject: 'alice', actor: 'demo-agent', connection: 'demo', sessions: 3, requests: 120, denied: 2 },
      { subject: HOSTILE, actor: '=HYPERLINK("http://evil")', connection: 'demo', sessions: 4, requests: 17, denied: 1 },
    ],
    privileged: {
      rows: [
        {
          at: '2026-11-01T10:00:00.000Z',
          sessionId: 'sess-1',
          requestId: 'req-1',
          subject: 'alice',
          actor: 'dba-agent',
          connection: 'demo',
          statementKind: 'DeleteStmt',
          statement: 'DELETE FROM orders WHERE id = $1',
          decision: 'pending_approval',
          ruleId: 'approve-deletes',
          approvalId: 'appr-1',
          approvers: ['carol', 'dave'],
          approvalOutcome: 'approved',
        },
        {
          at: '2026-11-01T11:00:00.000Z',
          sessionId: 'sess-2',
          requestId: 'req-2',
          subject: 'bob',
          actor: 'dba-agent',
          connection: 'demo',
          statementKind: 'DropStmt',
          statement: `DROP TABLE "a,b" -- ${HOSTILE}\nnext line`,
          decision: 'deny',
          ruleId: 'no-ddl',
          approvalId: '',
          approvers: [],
          approvalOutcome: '',
        },
      ],
      total: 5,
    },
    denied: {
      rows: [
        {
          at: '2026-11-01T11:00:00.000Z',
          sessionId: 'sess-2',
          subject: 'bob',
          actor: 'dba-agent',
          connection: 'demo',
          ruleId: 'no-ddl',
          statement: '+cmd|calc',
        },
      ],
      total: 3,
    },
    masking: {
      hidden: [
        { subject: 'alice', actor: 'report-agent', key: 'column:card_number', cells: 250 },
        { subject: 'alice', actor: 'report-agent', key: 'detector:email', cells: 12 },
      ],
      unmasked: [{ subject: 'dave', actor: 'dave', column: 'ssn', results: 6, rows: 60 }],
    },
    policyChanges: [
      {
        at: '2026-11-01T09:00:00.000Z',
        policyName: 'demo',
        version: 'v42',
        shadow: true,
        publishedBy: '@mallory',
        publisherIssuer: 'http://127.0.0.1:14000',
        contentHash: 'ab12',
      },
    ],
    verification: testVerification(),
    ...overrides,
  };
}
