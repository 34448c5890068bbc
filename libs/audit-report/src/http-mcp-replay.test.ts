// Replays of HTTP and MCP sessions from rows as ClickHouse returns them: payload_json holds the
// writer's form (the detail union wrapped, nullable fields plain), as eventColumns stores it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildTranscript, type ReplayRow, transcriptText } from './replay.js';

const T0 = 1_795_000_000_000_000;

let ids = 0;
function rowOf(session: string, protocol: string, connection: string) {
  return (fields: Partial<ReplayRow> & Pick<ReplayRow, 'event_type' | 'seq'>, payload: object = {}): ReplayRow => ({
    event_id: `e${++ids}`,
    session_id: session,
    time_us: T0 + Number(fields.seq) * 1000,
    subject: 'dave',
    actor: 'demo-agent',
    actor_chain: ['dave', 'demo-agent'],
    request_id: '',
    protocol,
    connection,
    statement_kind: '',
    sql_text: '',
    decision: '',
    rule_id: '',
    policy_version: 'demo-7',
    shadow: 0,
    outcome: '',
    row_count: 0,
    error_code: '',
    ...fields,
    payload_json: JSON.stringify(payload),
  });
}

const responsePayload = (requestId: string, extra: object) => ({
  requestId,
  outcome: 'ok',
  commandTags: [],
  rowCount: 0,
  columns: [],
  durationUs: 800,
  bytes: 0,
  sampleRows: [],
  sampleTruncated: false,
  resultDigest: null,
  errorCode: null,
  errorMessage: null,
  masking: [],
  exitStatus: null,
  exitSignal: null,
  streams: [],
  httpStatus: null,
  bodySample: null,
  ...extra,
});

// ---------------------------------------------------------------- HTTP

const httpRow = rowOf('http-1', 'http', 'registry');

const httpDetail = (detail: object) => ({
  requestId: 'h1',
  protocol: 'http',
  connection: 'registry',
  detail: {
    'agentgate.v1.HttpRequest': {
      method: 'GET',
      path: '/subjects',
      query: null,
      headers: [{ name: 'accept', value: 'application/json' }],
      bodyDigest: null,
      kubernetesVerb: null,
      kubernetesResource: null,
      kubernetesNamespace: null,
      body: null,
      bodyBytes: 0,
      contentType: null,
      ...detail,
    },
  },
});

function httpSession(detail: object, response: object): ReplayRow[] {
  return [
    httpRow({ event_type: 'SessionOpened', seq: 0 }, { clientAddress: '127.0.0.1', clientApplication: 'curl/8.5.0' }),
    httpRow({ event_type: 'RequestObserved', seq: 1, request_id: 'h1' }, httpDetail(detail)),
    httpRow(
      { event_type: 'VerdictIssued', seq: 2, request_id: 'h1', decision: 'allow', rule_id: 'registry-read' },
      { reason: 'read-only registry calls' },
    ),
    httpRow(
      { event_type: 'ResponseObserved', seq: 3, request_id: 'h1', outcome: 'ok' },
      responsePayload('h1', { httpStatus: 200, bytes: 512, durationUs: 900, ...response }),
    ),
    httpRow({ event_type: 'SessionClosed', seq: 4, outcome: 'client-disconnect' }, { requestCount: 1 }),
  ];
}

test('HTTP: the request line, its verdict and the response with status, size, masking and the masked body', () => {
  const rows = httpSession(
    { query: 'deleted=true' },
    {
      bodySample: '["orders-value","customers-value","<redacted:email>"]',
      masking: [{ key: 'detector:email', count: 1 }],
      resultDigest: 'ab'.repeat(32),
    },
  );
  const t = buildTranscript('http-1', rows);
  assert.equal(t.requests.length, 1);
  const r = t.requests[0]!;
  assert.equal(r.statementKind, 'http');
  assert.equal(r.text, 'GET /subjects?deleted=true');
  assert.deepEqual(r.http, { method: 'GET', path: '/subjects', query: 'deleted=true', body: null, bodyBytes: 0, contentType: null });
  assert.equal(r.response?.httpStatus, 200);
  assert.equal(r.response?.bytes, 512);

  const lines = transcriptText(t).split('\n');
  const at = (prefix: string): number => lines.findIndex((l) => l.startsWith(prefix));
  const order = [
    '  > GET /subjects?deleted=true',
    '  verdict: allow (rule registry-read, policy demo-7): read-only registry calls',
    '  response: ok, HTTP 200, 512 bytes (2.0 ms from request to response, 0.9 ms at the target)',
    '  masked: detector:email x1',
    '  body (masked, as the agent saw it): ["orders-value","customers-value","<redacted:email>"]',
  ].map((l) => {
    const i = at(l);
    assert.notEqual(i, -1, `missing ${JSON.stringify(l)} in\n${lines.join('\n')}`);
    assert.equal(lines[i], l);
    return i;
  });
  assert.deepEqual(
    order,
    [...order].sort((a, b) => a - b),
    'request, verdict, response in order',
  );
});

test('HTTP: a request body is shown shortened, a body past the audit cap by its size only', () => {
  const big = `{"schema":"${'x'.repeat(500)}"}`;
  const posted = buildTranscript(
    'http-1',
    httpSession({ method: 'POST', path: '/subjects/a/versions', body: big, bodyBytes: 520, contentType: 'application/json' }, {}),
  ).requests[0]!;
  assert.ok(posted.text.startsWith('POST /subjects/a/versions (body 520 bytes, application/json) {"schema":"xxx'), posted.text);
  assert.ok(posted.text.endsWith('…'));
  assert.ok(posted.text.length < 300, 'shortened');
  assert.equal(posted.http?.body, big, '--json keeps what was recorded');

  const unrecorded = buildTranscript('http-1', httpSession({ method: 'PUT', path: '/x', body: null, bodyBytes: 2_000_000 }, {}))
    .requests[0]!;
  assert.equal(unrecorded.text, 'PUT /x (body 2000000 bytes, not recorded)');
});

test('HTTP: a long body sample is shortened and says so; a refused request shows the code and no status', () => {
  const sample = 'y'.repeat(1000);
  const text = transcriptText(buildTranscript('http-1', httpSession({}, { bodySample: sample, sampleTruncated: true })));
  const line = text.split('\n').find((l) => l.startsWith('  body '))!;
  assert.ok(line.startsWith('  body (masked, as the agent saw it, shortened): yyy'), line);
  assert.ok(line.length < 300, line);

  const denied = httpSession({ method: 'DELETE', path: '/subjects/a' }, {});
  denied[2] = httpRow(
    { event_type: 'VerdictIssued', seq: 2, request_id: 'h1', decision: 'deny', rule_id: 'no-delete', error_code: 'AG_ERR_POLICY_DENIED' },
    { reason: 'deletes need approval' },
  );
  denied[3] = httpRow(
    { event_type: 'ResponseObserved', seq: 3, request_id: 'h1', outcome: 'denied', error_code: 'AG_ERR_POLICY_DENIED' },
    responsePayload('h1', { httpStatus: 403, errorCode: 'AG_ERR_POLICY_DENIED' }),
  );
  const deniedText = transcriptText(buildTranscript('http-1', denied));
  assert.ok(deniedText.includes('  verdict: deny (rule no-delete, policy demo-7): deletes need approval\n'), deniedText);
  assert.ok(deniedText.includes('  response: denied AG_ERR_POLICY_DENIED, HTTP 403, 0 bytes'), deniedText);
  assert.ok(!deniedText.includes('  body '), 'no body line without a sample');
});

test('HTTP: recorded control characters in a path or body are shown escaped', () => {
  const text = transcriptText(buildTranscript('http-1', httpSession({ path: '/a\u001b[2Jb' }, { bodySample: 'line1\nline2\u0007' })));
  assert.ok(text.includes('  > GET /a\\u001b[2Jb\n'), text);
  assert.ok(text.includes('line1\\nline2\\u0007'), text);
  assert.ok(!text.includes('\u0007') && !text.includes('\u001b'), 'no raw control character');
});

// ---------------------------------------------------------------- MCP

const mcpRow = rowOf('mcp-1', 'mcp', 'files');
const FP_READ = `sha256:${'1'.repeat(64)}`;
const FP_WRITE = `sha256:${'2'.repeat(64)}`;
const FP_EXEC = `sha256:${'3'.repeat(64)}`;

const mcpRequest = (seq: number, id: string, detail: object): ReplayRow =>
  mcpRow(
    { event_type: 'RequestObserved', seq, request_id: id },
    {
      requestId: id,
      protocol: 'mcp',
      connection: 'files',
      detail: {
        'agentgate.v1.McpRequest': {
          method: 'tools/call',
          name: null,
          uri: null,
          arguments: null,
          argumentsBytes: 0,
          argumentsDigest: null,
          toolFingerprint: null,
          tools: [],
          server: 'secure-filesystem-server 0.2.0',
          ...detail,
        },
      },
    },
  );

const mcpVerdict = (seq: number, id: string, decision: string, rule: string, extra: object = {}, fields: Partial<ReplayRow> = {}) =>
  mcpRow(
    { event_type: 'VerdictIssued', seq, request_id: id, decision, rule_id: rule, ...fields },
    { reason: `${decision} by ${rule}`, visibleTools: [], ...extra },
  );

const mcpResponse = (seq: number, id: string, outcome: string, extra: object = {}, fields: Partial<ReplayRow> = {}) =>
  mcpRow({ event_type: 'ResponseObserved', seq, request_id: id, outcome, ...fields }, responsePayload(id, { outcome, ...extra }));

function mcpSession(): ReplayRow[] {
  return [
    mcpRow({ event_type: 'SessionOpened', seq: 0 }, { clientAddress: '127.0.0.1', clientApplication: 'claude-code' }),
    // 1: tools/list, two of three shown
    mcpRequest(1, 'm1', {
      method: 'tools/list',
      tools: [
        { name: 'read_text_file', fingerprint: FP_READ },
        { name: 'write_file', fingerprint: FP_WRITE },
        { name: 'exec', fingerprint: FP_EXEC },
      ],
    }),
    mcpVerdict(2, 'm1', 'allow', 'mcp-list', { visibleTools: ['read_text_file', 'write_file'] }),
    mcpResponse(3, 'm1', 'ok', { bytes: 640, bodySample: '{"tools":[{"name":"read_text_file"},{"name":"write_file"}]}' }),
    // 2: tools/call with masked result
    mcpRequest(4, 'm2', {
      method: 'tools/call',
      name: 'read_text_file',
      arguments: '{"path":"/data/customers.csv"}',
      argumentsBytes: 30,
      toolFingerprint: FP_READ,
    }),
    mcpVerdict(5, 'm2', 'allow', 'read-files'),
    mcpResponse(6, 'm2', 'ok', {
      bytes: 2048,
      bodySample: '{"content":[{"type":"text","text":"id,email\\n1,<redacted:email>"}]}',
      masking: [{ key: 'detector:email', count: 3 }],
    }),
    // 3: a changed tool, refused
    mcpRequest(7, 'm3', {
      method: 'tools/call',
      name: 'write_file',
      arguments: '{"path":"/tmp/x","content":"hi"}',
      argumentsBytes: 33,
      toolFingerprint: FP_EXEC,
    }),
    mcpVerdict(8, 'm3', 'deny', 'mcp-pins', {}, { error_code: 'AG_ERR_MCP_TOOL_CHANGED' }),
    mcpResponse(
      9,
      'm3',
      'denied',
      { errorCode: 'AG_ERR_MCP_TOOL_CHANGED', errorMessage: 'the tool changed since it was approved' },
      { error_code: 'AG_ERR_MCP_TOOL_CHANGED' },
    ),
    // 4, 5: resources/read and prompts/get
    mcpRequest(10, 'm4', { method: 'resources/read', uri: 'file:///data/readme.md' }),
    mcpVerdict(11, 'm4', 'allow', 'resources'),
    mcpResponse(12, 'm4', 'ok', { bytes: 20, bodySample: '{"contents":[]}' }),
    mcpRequest(13, 'm5', { method: 'prompts/get', name: 'summarise', arguments: '{"topic":"q3"}', argumentsBytes: 14 }),
    mcpVerdict(14, 'm5', 'allow', 'prompts'),
    mcpResponse(15, 'm5', 'error', { errorCode: '-32602', errorMessage: 'unknown prompt' }, { error_code: '-32602' }),
    mcpRow({ event_type: 'SessionClosed', seq: 16, outcome: 'client-disconnect' }, { requestCount: 5 }),
  ];
}

test('MCP: each request says what it asked for, in order', () => {
  const t = buildTranscript('mcp-1', mcpSession());
  assert.deepEqual(
    t.requests.map((r) => [r.statementKind, r.text]),
    [
      ['mcp', 'tools/list (3 offered, 2 shown)'],
      ['mcp', 'tools/call read_text_file {"path":"/data/customers.csv"}'],
      ['mcp', 'tools/call write_file {"path":"/tmp/x","content":"hi"}'],
      ['mcp', 'resources/read file:///data/readme.md'],
      ['mcp', 'prompts/get summarise {"topic":"q3"}'],
    ],
  );
  assert.deepEqual(t.requests[0]!.verdict?.visibleTools, ['read_text_file', 'write_file']);
  assert.equal(t.requests[1]!.mcp?.toolFingerprint, FP_READ);
  assert.equal(t.requests[1]!.response?.bytes, 2048);
});

test('MCP: the transcript shows tools shown and hidden, the tool fingerprint, verdicts and masked results', () => {
  const text = transcriptText(buildTranscript('mcp-1', mcpSession()));
  const blocks = text.split('\n\n');
  const block = (n: number): string => blocks.find((b) => b.startsWith(`#${n} `)) ?? '';
  assert.ok(
    block(1).endsWith(
      [
        '  > tools/list (3 offered, 2 shown)',
        '  server: secure-filesystem-server 0.2.0',
        '  shown: read_text_file, write_file',
        '  hidden: exec',
        '  verdict: allow (rule mcp-list, policy demo-7): allow by mcp-list',
        '  response: ok, 640 bytes (2.0 ms from request to response, 0.8 ms at the target)',
        '  result (masked, as the agent saw it): {"tools":[{"name":"read_text_file"},{"name":"write_file"}]}',
      ].join('\n'),
    ),
    block(1),
  );
  assert.ok(
    block(2).endsWith(
      [
        '  > tools/call read_text_file {"path":"/data/customers.csv"}',
        '  server: secure-filesystem-server 0.2.0',
        `  tool fingerprint: ${FP_READ}`,
        '  verdict: allow (rule read-files, policy demo-7): allow by read-files',
        '  response: ok, 2048 bytes (2.0 ms from request to response, 0.8 ms at the target)',
        '  masked: detector:email x3',
        '  result (masked, as the agent saw it): {"content":[{"type":"text","text":"id,email\\n1,<redacted:email>"}]}',
      ].join('\n'),
    ),
    block(2),
  );
  assert.ok(block(3).includes('  verdict: deny (rule mcp-pins, policy demo-7)'), block(3));
  assert.ok(block(3).includes('  response: denied AG_ERR_MCP_TOOL_CHANGED: the tool changed since it was approved, no result'), block(3));
  assert.ok(block(4).includes('  > resources/read file:///data/readme.md\n'), block(4));
  assert.ok(!block(4).includes('tool fingerprint'), 'only tools/call names a tool fingerprint');
  assert.ok(block(5).includes('  response: error -32602: unknown prompt, no result'), block(5));
});

test('MCP: arguments past the audit cap show their size; a call of an unlisted tool says so', () => {
  const rows = [
    mcpRow({ event_type: 'SessionOpened', seq: 0 }),
    mcpRequest(1, 'c1', { method: 'tools/call', name: 'write_file', arguments: null, argumentsBytes: 90_000, toolFingerprint: null }),
  ];
  const t = buildTranscript('mcp-1', rows);
  assert.equal(t.requests[0]!.text, 'tools/call write_file (arguments 90000 bytes, not recorded)');
  const text = transcriptText(t);
  assert.ok(text.includes('  tool fingerprint: none (the server did not list this tool)\n'), text);
  assert.ok(text.includes('  verdict: none recorded\n'));
  // Without a verdict, a tools/list counts what was offered only.
  const listed = buildTranscript('mcp-1', [mcpRequest(1, 'l1', { method: 'tools/list', tools: [{ name: 'a', fingerprint: FP_READ }] })]);
  assert.equal(listed.requests[0]!.text, 'tools/list (1 offered)');
  assert.ok(!transcriptText(listed).includes('  shown:'));
});

test('MCP: the shown count follows the live verdict, not a shadow one', () => {
  const rows = [
    mcpRequest(1, 'l1', {
      method: 'tools/list',
      tools: [
        { name: 'a', fingerprint: FP_READ },
        { name: 'b', fingerprint: FP_WRITE },
      ],
    }),
    mcpVerdict(2, 'l1', 'allow', 'live', { visibleTools: ['a', 'b'] }),
    mcpVerdict(3, 'l1', 'allow', 'strict', { visibleTools: [] }, { shadow: 1 }),
  ];
  assert.equal(buildTranscript('mcp-1', rows).requests[0]!.text, 'tools/list (2 offered, 2 shown)');
});

test('an SQL request keeps its text and kind, with no http or mcp detail', () => {
  const sql = rowOf('pg-1', 'postgres', 'demo');
  const t = buildTranscript('pg-1', [
    sql({ event_type: 'RequestObserved', seq: 1, request_id: 'q1', statement_kind: 'SelectStmt', sql_text: 'SELECT 1' }),
  ]);
  const r = t.requests[0]!;
  assert.deepEqual([r.statementKind, r.text, r.http, r.mcp], ['SelectStmt', 'SELECT 1', undefined, undefined]);
});
