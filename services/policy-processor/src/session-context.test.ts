import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleSession, type AuditEvent } from '@agentgate/events';
import type { StatementFacts } from '@agentgate/sql';
import { SessionContexts } from './session-context.js';

const [opened, request] = sampleSession() as [AuditEvent, AuditEvent];
// Only the flags matter here.
const facts = (flags: Partial<StatementFacts['flags']> = {}): StatementFacts =>
  ({
    kind: 'VariableSetStmt',
    flags: { searchPathChange: false, dynamicSql: false, roleChange: false, ...flags },
  }) as unknown as StatementFacts;

test('given a session this processor saw open, its search path is known and its user is the target role', () => {
  const s = new SessionContexts();
  s.observe(opened);
  assert.equal(s.of(opened.sessionId).searchPathKnown, true);
});

test('given an allowed SET search_path (or dynamic SQL, or a role change), unqualified names are unresolvable from then on', () => {
  for (const flag of ['searchPathChange', 'dynamicSql', 'roleChange'] as const) {
    const s = new SessionContexts();
    s.observe(opened);
    s.observe(request, [facts({ [flag]: true })]);
    assert.equal(s.of(opened.sessionId).searchPathKnown, false, flag);
  }
});

test('given a request that changes nothing, the search path stays known; a closed session is forgotten', () => {
  const s = new SessionContexts();
  s.observe(opened);
  s.observe(request, [facts()]);
  assert.equal(s.of(opened.sessionId).searchPathKnown, true);
  s.observe({
    ...opened,
    eventType: 'SessionClosed',
    payload: { reason: 'client-terminate', errorCode: null, durationUs: 0, requestCount: 1 },
  } as AuditEvent);
  assert.equal(s.size, 0);
});

test('given a session whose opening was not seen, nothing is assumed about its search path', () => {
  assert.deepEqual(new SessionContexts().of('unknown'), { sessionUser: null, searchPathKnown: false });
});
