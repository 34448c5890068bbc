// The JSON Schema every policy file is validated against (ajv, draft-07). One file may hold
// any of the top-level keys; the files of a directory are merged (rules and tests in file-name
// order). docs/policy.md explains each key with examples.
import { DETECTOR_NAMES, PLAN_LIMITS } from '@agentgate/masking';
import { BOOLEAN_FLAGS, CLASS_NAMES } from './facts.js';
import { JSON_POINTER_PATTERN } from './json-match.js';

const globList = { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 } as const;

const namePattern = {
  oneOf: [
    { type: 'string', minLength: 1, description: '"schema.name", "schema.*" or "name" (any schema)' },
    {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: { schema: { type: 'string', minLength: 1 }, name: { type: 'string', minLength: 1 } },
    },
  ],
} as const;

function listCondition(item: object): object {
  const list = { type: 'array', items: item, minItems: 1 };
  return {
    oneOf: [
      list,
      {
        type: 'object',
        additionalProperties: false,
        minProperties: 1,
        maxProperties: 1,
        properties: { any: list, only: list, none: list },
      },
    ],
  };
}

const range = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: { min: { type: 'integer', minimum: 0 }, max: { type: 'integer', minimum: 0 } },
} as const;

// The statement classes and flags are those of the facts rules match on (facts.ts).
const CLASSES = [...CLASS_NAMES];
const FLAGS = [...BOOLEAN_FLAGS];

const identity = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    subject: globList,
    issuer: globList,
    groups: {
      oneOf: [
        globList,
        {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          maxProperties: 1,
          properties: { any: globList, all: globList, none: globList },
        },
      ],
    },
    actingAgent: globList,
    actingFor: globList,
    anyActor: globList,
    delegated: { type: 'boolean' },
    chainLength: range,
  },
} as const;

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'weekdays', 'weekend'];

const requestConditions = {
  protocol: { type: 'array', items: { enum: ['postgres', 'ssh', 'http', 'mcp'] }, minItems: 1 },
  connection: globList,
  identity,
  time: {
    type: 'object',
    additionalProperties: false,
    minProperties: 1,
    properties: {
      days: { type: 'array', items: { enum: DAYS }, minItems: 1 },
      hours: { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-4]):[0-5][0-9]$' },
      zone: { type: 'string', minLength: 1 },
    },
  },
} as const;

const sql = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    kinds: listCondition({ type: 'string', minLength: 1 }),
    classes: listCondition({ enum: CLASSES }),
    reads: listCondition(namePattern),
    writes: listCondition(namePattern),
    locks: listCondition(namePattern),
    touches: listCondition(namePattern),
    functions: listCondition(namePattern),
    flags: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: Object.fromEntries(FLAGS.map((f) => [f, { type: 'boolean' }])),
    },
    unparseable: { type: 'boolean' },
    statementCount: range,
  },
} as const;

// The channels and SFTP operations of libs/events SshRequest.
const SSH_CHANNELS = ['exec', 'shell', 'sftp', 'direct-tcpip'];
const SFTP_OPERATIONS = [
  'open-read',
  'open-write',
  'read',
  'write',
  'remove',
  'rename',
  'mkdir',
  'rmdir',
  'setstat',
  'readdir',
  'stat',
  'readlink',
  'symlink',
  'realpath',
];

const stringMap = { type: 'object', additionalProperties: { type: 'string' }, minProperties: 1 } as const;
const pointerMap = { ...stringMap, propertyNames: { pattern: JSON_POINTER_PATTERN } } as const;

const match = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...requestConditions,
    sql,
    ssh: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        channel: { type: 'array', items: { enum: SSH_CHANNELS }, minItems: 1 },
        program: listCondition({ type: 'string', minLength: 1 }),
        argv: globList,
        options: listCondition({ type: 'string', minLength: 1 }),
        unknown: { type: 'boolean' },
        operation: { type: 'array', items: { enum: SFTP_OPERATIONS }, minItems: 1 },
        path: { type: 'array', items: { type: 'string', pattern: '^/' }, minItems: 1 },
        forward: globList,
        environment: globList,
      },
    },
    http: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        method: globList,
        path: { type: 'array', items: { type: 'string', pattern: '^/' }, minItems: 1 },
        query: stringMap,
        headers: stringMap,
        json: pointerMap,
      },
    },
    mcp: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: { method: globList, tool: globList, prompt: globList, resource: globList, arguments: pointerMap },
    },
  },
} as const;

const except = { type: 'object', additionalProperties: false, minProperties: 1, properties: requestConditions } as const;

const duration = { type: 'string', pattern: '^[1-9][0-9]*(s|m|h|d)$' } as const;

const rule = {
  type: 'object',
  required: ['id', 'description', 'action'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' },
    description: { type: 'string', minLength: 1 },
    kind: { enum: ['access', 'budget', 'rate'] },
    match,
    except,
    action: { enum: ['allow', 'deny', 'approve', 'mask'] },
    message: { type: 'string', minLength: 1 },
    approval: {
      type: 'object',
      required: ['groups'],
      additionalProperties: false,
      properties: {
        groups: globList,
        quorum: { anyOf: [{ type: 'integer', minimum: 1, maximum: 10 }, { const: 'each-group' }] },
        expiry: duration,
        grant: duration,
        scope: { enum: ['statement', 'window'] },
        notify: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]*$' }, maxItems: 8 },
      },
    },
    masking: { type: 'string', minLength: 1 },
    per: { enum: ['actor', 'subject'] },
    window: duration,
    limits: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        statements: { type: 'integer', minimum: 0 },
        rowsRead: { type: 'integer', minimum: 0 },
        rowsWritten: { type: 'integer', minimum: 0 },
      },
    },
  },
  allOf: [
    // biome-ignore lint/suspicious/noThenProperty: `then` is a JSON Schema keyword
    { if: { properties: { action: { const: 'approve' } } }, then: { required: ['approval'] } },
    // biome-ignore lint/suspicious/noThenProperty: `then` is a JSON Schema keyword
    { if: { properties: { action: { const: 'mask' } } }, then: { required: ['masking'] } },
    {
      if: { required: ['kind'], properties: { kind: { enum: ['budget', 'rate'] } } },
      // biome-ignore lint/suspicious/noThenProperty: `then` is a JSON Schema keyword
      then: { required: ['window', 'limits'], properties: { action: { enum: ['deny', 'approve'] } } },
      else: { properties: { per: false, window: false, limits: false } },
    },
  ],
} as const;

// Masking rule sets (top-level `masking:`). A strategy is a word; YAML's bare `null` is the
// `null` strategy too, so `strategy: null` means what it says rather than "no strategy".
const MASK_STRATEGIES = ['redact', 'partial', 'null', 'tokenize', null];
const keep = { type: 'integer', minimum: 0, maximum: PLAN_LIMITS.maxPartialKeep } as const;
const glob = { type: 'string', minLength: 1, maxLength: PLAN_LIMITS.globLength } as const;
const typeRef = {
  oneOf: [
    { type: 'string', minLength: 1, maxLength: 64 },
    { type: 'integer', minimum: 1, maximum: 0xffffffff },
  ],
} as const;
const maskingSet = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    description: { type: 'string' },
    copyOut: { const: 'detectors', description: 'COPY TO output may pass with the detectors applied (column rules cannot apply to it)' },
    columns: {
      type: 'array',
      maxItems: PLAN_LIMITS.rules,
      items: {
        type: 'object',
        required: ['strategy'],
        additionalProperties: false,
        properties: {
          schema: glob,
          table: glob,
          column: glob,
          type: { oneOf: [typeRef, { type: 'array', items: typeRef, minItems: 1, maxItems: PLAN_LIMITS.types }] },
          strategy: { enum: [...MASK_STRATEGIES, 'keep', 'detect'] },
          keep,
        },
      },
    },
    detectors: {
      oneOf: [
        { type: 'array', items: { enum: [...DETECTOR_NAMES] }, uniqueItems: true },
        {
          type: 'object',
          propertyNames: { enum: [...DETECTOR_NAMES] },
          additionalProperties: {
            oneOf: [
              { enum: MASK_STRATEGIES },
              {
                type: 'object',
                required: ['strategy'],
                additionalProperties: false,
                properties: { strategy: { enum: MASK_STRATEGIES }, keep },
              },
            ],
          },
        },
      ],
    },
    defaultDetectorStrategy: { enum: MASK_STRATEGIES },
  },
} as const;

const testCase = {
  type: 'object',
  required: ['name', 'expect'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1 },
    identity: {
      type: 'object',
      required: ['subject'],
      additionalProperties: false,
      properties: {
        subject: { type: 'string' },
        issuer: { type: 'string' },
        groups: { type: 'array', items: { type: 'string' } },
        actingFor: { type: 'string', description: 'delegation: the subject this agent acts for' },
        via: { type: 'array', items: { type: 'string' }, description: 'earlier actors, outermost first' },
      },
    },
    connection: { type: 'string' },
    protocol: { enum: ['postgres', 'ssh', 'http', 'mcp'] },
    sql: { type: 'string' },
    resolvedSql: { type: 'string', description: 'the PREPARE or DECLARE an EXECUTE or FETCH runs' },
    searchPathKnown: { type: 'boolean' },
    sessionUser: { type: 'string' },
    userSchemaExists: { type: 'boolean' },
    time: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$' },
    ssh: {
      type: 'object',
      additionalProperties: false,
      minProperties: 1,
      properties: {
        channel: { enum: SSH_CHANNELS },
        command: { type: 'string', description: 'exec: the command line' },
        operation: { enum: SFTP_OPERATIONS },
        path: { type: 'string' },
        targetPath: { type: 'string' },
        forward: { type: 'string', pattern: '^.+:[0-9]+$', description: 'direct-tcpip: host:port' },
        environment: { type: 'array', items: { type: 'string' } },
      },
    },
    http: {
      type: 'object',
      required: ['method', 'path'],
      additionalProperties: false,
      properties: {
        method: { type: 'string', minLength: 1 },
        path: { type: 'string', description: 'after /<connection>, as sent (percent-encoded)' },
        query: {
          oneOf: [
            { type: 'string', description: 'the raw query string, without ?' },
            { type: 'object', additionalProperties: { type: 'string' }, description: 'parameters, form-encoded for the test' },
          ],
        },
        headers: { type: 'object', additionalProperties: { type: 'string' } },
        body: { description: 'the raw body when a string, else sent as its JSON text' },
        contentType: { type: 'string', description: 'default: the content-type header, else application/json with a body' },
      },
    },
    mcp: {
      type: 'object',
      additionalProperties: false,
      properties: {
        method: {
          type: 'string',
          minLength: 1,
          description: 'default: tools/call with tool, prompts/get with prompt, resources/read with resource, else tools/list',
        },
        tool: { type: 'string', minLength: 1 },
        prompt: { type: 'string', minLength: 1 },
        resource: { type: 'string', minLength: 1 },
        arguments: { description: 'the raw JSON text when a string, else sent as its JSON text' },
        fingerprint: {
          type: ['string', 'null'],
          description: "the tool's current fingerprint; default: its pin (null: the server does not list it)",
        },
        tools: {
          type: 'array',
          description: 'tools/list: the tools the server offers (a name: as pinned); default: every tool pinned on the connection',
          items: {
            oneOf: [
              { type: 'string', minLength: 1 },
              {
                type: 'object',
                required: ['name', 'fingerprint'],
                additionalProperties: false,
                properties: { name: { type: 'string', minLength: 1 }, fingerprint: { type: 'string' } },
              },
            ],
          },
        },
      },
    },
    expect: {
      type: 'object',
      required: ['decision'],
      additionalProperties: false,
      properties: {
        decision: { enum: ['allow', 'deny', 'approve', 'mask'] },
        rule: { type: ['string', 'null'], description: 'the deciding rule id; null = the default' },
        masking: { type: 'array', items: { type: 'string' }, description: 'the masking rule sets applied, in order' },
        visibleTools: { type: 'array', items: { type: 'string' }, description: 'MCP tools/list: the tools the agent is shown (any order)' },
        errorCode: {
          type: ['string', 'null'],
          pattern: '^AG_ERR_[A-Z_]+$',
          description: 'the error code the verdict carries (AG_ERR_POLICY_DENIED, AG_ERR_MCP_TOOL_CHANGED, ...); null = none (allowed)',
        },
      },
    },
  },
} as const;

/** The schema of one policy file. */
export const POLICY_FILE_SCHEMA = {
  $id: 'https://agentgate.dev/schemas/policy-file.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    policy: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' },
    description: { type: 'string' },
    principalSets: {
      type: 'object',
      propertyNames: { pattern: '^[a-z0-9][a-z0-9._-]*$' },
      additionalProperties: { type: 'array', items: { type: 'string', minLength: 1 } },
    },
    masking: { type: 'object', propertyNames: { pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' }, additionalProperties: maskingSet },
    // connection -> tool -> fingerprint (libs/mcp toolFingerprint): what an administrator approved.
    mcpPins: {
      type: 'object',
      propertyNames: { minLength: 1 },
      additionalProperties: {
        type: 'object',
        propertyNames: { minLength: 1 },
        additionalProperties: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
      },
    },
    rules: { type: 'array', items: rule },
    tests: { type: 'array', items: testCase },
  },
} as const;
