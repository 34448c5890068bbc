// Given events, when a checkpoint is due, then this body: the checkpointer's decisions on
// recorded histories, including shadow verdicts, several sessions, idle intervals and a restart.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { checkpointChainId, keyIdOf, publicKeyBase64, verifyCheckpointSignature } from '@agentgate/audit-verify';
import { chainEvent, sampleSession, verifyChain, type AuditEvent, type AuditEventOf } from '@agentgate/events';
import { checkpointEvent } from './checkpoint-event.js';
import { currentHeads, decide, evolve, evolveAll, initialState, type CheckpointPlan, type HeadsState } from './heads.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const keyId = keyIdOf(publicKey);
const ID = 'primary';
const CHAIN = checkpointChainId(ID);
const T0 = 1_795_000_000_000_000;

function given(events: readonly AuditEvent[]): HeadsState {
  return evolveAll(initialState(ID, CHAIN), events);
}

function when(state: HeadsState, nowUs: number, maxHeads = 1000): CheckpointPlan | undefined {
  return decide(state, { nowUs, keyId, maxHeads });
}

/** Signs a plan the way the service does and folds the event in, as after Kafka's acknowledgement. */
function sign(state: HeadsState, plan: CheckpointPlan, nowUs: number): AuditEventOf<'CheckpointSigned'> {
  const event = checkpointEvent(plan, privateKey, { eventId: randomUUID(), chainId: CHAIN, producer: 'checkpointer', timeUs: nowUs });
  evolveAll(state, [event]);
  return event;
}

/** A shadow verdict of the sample session's request (seq 1): the live verdict's slot, chained onto the request. */
function shadowVerdict(session: AuditEvent[]): AuditEvent {
  const verdict = session[2] as AuditEventOf<'VerdictIssued'>;
  const request = session[1]!;
  return chainEvent(
    {
      ...verdict,
      eventId: '5f2c1d9e-0000-4000-8000-0000000000aa',
      producer: 'policy/shadow',
      payload: { ...verdict.payload, shadow: true, decision: 'deny' },
    },
    { seq: 2, prevHash: request.hash },
  ) as AuditEvent;
}

test('the first checkpoint lists every session head, starts at 0 and links to nothing', () => {
  const a = sampleSession('a-session');
  const b = sampleSession('b-session').slice(0, 3);
  const plan = when(given([...b, ...a]), T0);
  assert.ok(plan);
  assert.equal(plan.final, true);
  assert.deepEqual(plan.link, { seq: 0, prevHash: null });
  assert.deepEqual(plan.body, {
    checkpointerId: ID,
    keyId,
    seq: 0,
    previousCheckpointHash: null,
    coveredFromUs: 0,
    coveredUntilUs: T0,
    heads: [
      { sessionId: 'a-session', seq: 4, hash: a[4]!.hash, events: 5 },
      { sessionId: 'b-session', seq: 2, hash: b[2]!.hash, events: 3 },
    ],
  });
});

test('the head is the highest seq whatever order the topics interleave in', () => {
  const a = sampleSession('a-session');
  const plan = when(given([a[4]!, a[0]!, a[2]!, a[1]!, a[3]!]), T0);
  assert.deepEqual(plan?.body.heads, [{ sessionId: 'a-session', seq: 4, hash: a[4]!.hash, events: 5 }]);
});

test('a shadow verdict counts as an event but is never the head', () => {
  const a = sampleSession('a-session').slice(0, 3);
  const shadow = shadowVerdict(sampleSession('a-session'));
  assert.equal(verifyChain([...a, shadow]).ok, true);
  // The shadow verdict is read last and shares seq 2 with the live verdict: the live one stays the head.
  const plan = when(given([...a, shadow]), T0);
  assert.deepEqual(plan?.body.heads, [{ sessionId: 'a-session', seq: 2, hash: a[2]!.hash, events: 4 }]);
  // Request and shadow verdict only (the live verdict not read yet): the request is the head.
  const early = when(given([a[0]!, a[1]!, shadow]), T0);
  assert.deepEqual(early?.body.heads, [{ sessionId: 'a-session', seq: 1, hash: a[1]!.hash, events: 3 }]);
  // A session with nothing but a shadow verdict has no head to sign yet.
  assert.deepEqual(when(given([shadow]), T0)?.body.heads, []);
});

test('the same event read twice (a re-read, a producer retry) changes nothing', () => {
  const a = sampleSession('a-session');
  assert.deepEqual(currentHeads(given([...a, ...a, a[2]!])), currentHeads(given(a)));
  assert.equal(currentHeads(given([...a, ...a]))[0]!.events, 5);
});

test('the next checkpoint lists only the sessions that advanced, open ones included, and links onto the previous', () => {
  const a = sampleSession('a-session');
  const b = sampleSession('b-session');
  const state = given([...a, ...b.slice(0, 2)]);
  const first = sign(state, when(state, T0)!, T0);
  evolveAll(state, [b[2]!]);
  const plan = when(state, T0 + 60_000_000);
  assert.ok(plan);
  assert.deepEqual(plan.link, { seq: 1, prevHash: first.hash });
  assert.equal(plan.body.previousCheckpointHash, first.hash);
  assert.equal(plan.body.coveredFromUs, T0);
  assert.equal(plan.body.coveredUntilUs, T0 + 60_000_000);
  // b is still open (no SessionClosed): its head is listed; a did not move and is not.
  assert.deepEqual(plan.body.heads, [{ sessionId: 'b-session', seq: 2, hash: b[2]!.hash, events: 3 }]);
  const second = sign(state, plan, T0 + 60_000_000);
  assert.deepEqual(verifyChain([first, second]), { ok: true, length: 2 });
});

test('a shadow verdict alone advances a session: its event count changed', () => {
  const a = sampleSession('a-session');
  const state = given(a);
  sign(state, when(state, T0)!, T0);
  evolveAll(state, [shadowVerdict(a)]);
  assert.deepEqual(when(state, T0 + 1)?.body.heads, [{ sessionId: 'a-session', seq: 4, hash: a[4]!.hash, events: 6 }]);
});

test('when nothing advanced, a checkpoint with no heads is still made (liveness)', () => {
  const state = given(sampleSession('a-session'));
  const first = sign(state, when(state, T0)!, T0);
  const plan = when(state, T0 + 60_000_000);
  assert.deepEqual(plan?.body.heads, []);
  assert.equal(plan?.body.previousCheckpointHash, first.hash);
  assert.equal(plan?.body.seq, 1);
  // With an empty log too.
  assert.deepEqual(when(given([]), T0)?.body.heads, []);
});

test('no checkpoint while the clock has not passed the previous one (the interval would be empty)', () => {
  const state = given([]);
  sign(state, when(state, T0)!, T0);
  assert.equal(when(state, T0), undefined);
  assert.equal(when(state, T0 - 1), undefined);
  assert.ok(when(state, T0 + 1));
});

test('more advanced sessions than one checkpoint holds: partial checkpoints claim no time, the final one covers', () => {
  const sessions = ['s1', 's2', 's3', 's4', 's5'].map((id) => sampleSession(id).slice(0, 2));
  const state = given(sessions.flat());
  const plans: CheckpointPlan[] = [];
  // Bounded: a decide that never reaches a final checkpoint fails here instead of hanging.
  for (let i = 0; i < 5; i++) {
    const plan = when(state, T0, 2);
    assert.ok(plan);
    plans.push(plan);
    sign(state, plan, T0);
    if (plan.final) break;
  }
  assert.deepEqual(
    plans.map((p) => [p.body.seq, p.body.coveredFromUs, p.body.coveredUntilUs, p.body.heads.map((h) => h.sessionId)]),
    [
      [0, 0, 0, ['s1', 's2']],
      [1, 0, 0, ['s3', 's4']],
      [2, 0, T0, ['s5']],
    ],
  );
});

test('signed checkpoints verify against the key and the heads they carry are what decide gave', () => {
  const a = sampleSession('a-session');
  const state = given(a);
  const plan = when(state, T0)!;
  const event = sign(state, plan, T0);
  const trusted = [{ keyId, publicKey: publicKeyBase64(publicKey) }];
  assert.deepEqual(verifyCheckpointSignature(event.payload, event.seq, trusted), { ok: true });
  assert.deepEqual(event.payload.heads, plan.body.heads);
  assert.equal(event.sessionId, CHAIN);
  assert.equal(event.actor, null);
});

test('another checkpointer’s checkpoints, and our own read back or re-read, do not move our chain', () => {
  const a = sampleSession('a-session');
  const state = given(a);
  const ours = sign(state, when(state, T0)!, T0);
  const foreignState = evolveAll(initialState('secondary', checkpointChainId('secondary')), a);
  const foreign = checkpointEvent(decide(foreignState, { nowUs: T0 + 5, keyId, maxHeads: 10 })!, privateKey, {
    eventId: randomUUID(),
    chainId: checkpointChainId('secondary'),
    producer: 'checkpointer',
    timeUs: T0 + 5,
  });
  evolveAll(state, [foreign, ours]);
  assert.deepEqual(state.last, { seq: 0, hash: ours.hash, coveredUntilUs: T0 });
  // On a state with no checkpoint of its own yet, the other chain is still not ours.
  assert.equal(given([...a, foreign]).last, null);
  // A re-read from the beginning (a rebuilt consumer) brings older checkpoints after newer ones.
  const next = sign(state, when(state, T0 + 10)!, T0 + 10);
  evolveAll(state, [ours, next, ours]);
  assert.deepEqual(state.last, { seq: 1, hash: next.hash, coveredUntilUs: T0 + 10 });
});

test('restart: replaying past checkpoints and events in any interleaving gives the same next checkpoint', () => {
  const a = sampleSession('a-session');
  const b = sampleSession('b-session');
  const c = sampleSession('c-session');
  // The running service: a and b, checkpoint, then b moves on and c starts, checkpoint, then a shadow verdict and c moves.
  const live = given([...a, ...b.slice(0, 2)]);
  const cp0 = sign(live, when(live, T0)!, T0);
  evolveAll(live, [...b.slice(2), ...c.slice(0, 1)]);
  const cp1 = sign(live, when(live, T0 + 60_000_000)!, T0 + 60_000_000);
  evolveAll(live, [shadowVerdict(a), ...c.slice(1, 3)]);
  const expected = when(live, T0 + 120_000_000);

  // A new process reads the checkpoints topic and the chained topics, interleaved arbitrarily.
  const history: AuditEvent[] = [...a, ...b, ...c.slice(0, 3), shadowVerdict(a)];
  for (const order of [
    [cp0, cp1, ...history],
    [...history, cp0, cp1],
    [history[3]!, cp0, ...history.slice(7).reverse(), cp1, ...history.slice(0, 7)],
  ]) {
    const rebuilt = given(order);
    assert.deepEqual(rebuilt.last, live.last);
    const plan = when(rebuilt, T0 + 120_000_000);
    assert.deepEqual(plan?.link, expected?.link);
    assert.deepEqual(
      plan?.body.heads.map((h) => [h.sessionId, h.seq, h.hash]),
      expected?.body.heads.map((h) => [h.sessionId, h.seq, h.hash]),
    );
    assert.deepEqual(plan, expected);
  }
});

test('a CheckpointSigned written into a chained topic moves neither our chain nor any session head', () => {
  const a = sampleSession('a-session');
  const state = given(a);
  const forgedState = given(a);
  const forged = sign(forgedState, when(forgedState, T0)!, T0);
  evolve(state, { source: 'chained', event: forged });
  assert.equal(state.last, null);
  assert.deepEqual(
    currentHeads(state).map((h) => h.sessionId),
    ['a-session'],
  );
  evolve(state, { source: 'checkpoints', event: forged });
  // The assertion above narrowed `last` to null; the fold has changed it since.
  assert.equal((state as HeadsState).last?.hash, forged.hash);
});

test('two different events at one seq (a fork): the same head whichever is read first', () => {
  const a = sampleSession('a-session');
  const fork = chainEvent({ ...a[4]!, eventId: randomUUID() } as AuditEvent, { seq: 4, prevHash: a[3]!.hash }) as AuditEvent;
  assert.notEqual(fork.hash, a[4]!.hash);
  const one = currentHeads(given([...a, fork]));
  const other = currentHeads(given([fork, ...a]));
  assert.deepEqual(one, other);
  assert.equal(one[0]!.events, 6);
});
