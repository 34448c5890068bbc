// TypeScript view of schemas/audit-event.avsc. The .avsc file is the source of truth;
// `avro-mapping.ts` converts between this view and Avro's (where unions are wrapped).

/** Who acted; never the token itself. */
export interface Actor {
  subject: string;
  issuer: string;
  groups: string[];
  actChain: DelegationLink[];
  tokenId: string | null;
  authMethod: string;
}

/** One RFC 8693 `act` link, outermost first. */
export interface DelegationLink {
  subject: string;
  issuer: string | null;
  clientId: string | null;
}

/** Fields every event carries. */
export interface Envelope {
  eventId: string;
  sessionId: string;
  seq: number;
  timeUs: number;
  producer: string;
  prevHash: string | null;
  hash: string;
  traceId: string | null;
  actor: Actor | null;
}

export interface SessionOpened {
  protocol: string;
  connection: string;
  targetHost: string | null;
  targetPort: number | null;
  targetDatabase: string | null;
  clientAddress: string;
  clientPort: number;
  clientTls: boolean;
  clientApplication: string | null;
  ingressInstance: string;
  /** The client's startup parameters as forwarded to the target (PostgreSQL). */
  startupParameters: { name: string; value: string }[];
  /** The target role the gateway logged in as; null in events written before it was recorded. */
  targetUser: string | null;
}

export interface SqlRequest {
  kind: 'sql';
  text: string;
  textMasked: boolean;
  statementKind: string;
  statementKinds: string[];
  fingerprint: string | null;
  messageFlow: string;
  preparedName: string | null;
  parameters: (string | null)[];
  /** Set when `text` is capped: the full statement's UTF-8 length. */
  fullTextBytes: number | null;
  /** Set when `text` is capped: hex SHA-256 of the full statement. */
  fullTextSha256: string | null;
  /** For EXECUTE, FETCH and MOVE: the PREPARE or DECLARE whose query they run. */
  resolvedText: string | null;
  /**
   * Hex HMAC-SHA256 (a gateway key) of the statement as received (trimmed) and its parameters:
   * what an approval binds to. Keyed: a plain digest would let anyone guess a redacted value.
   */
  statementDigest: string | null;
}

export interface SshRequest {
  kind: 'ssh';
  /** exec, shell, sftp, direct-tcpip. */
  channel: string;
  command: string | null;
  subsystem: string | null;
  /** SFTP: open-read, open-write, read, write, remove, rename, mkdir, rmdir, setstat, readdir, stat, readlink, symlink, realpath. */
  operation: string | null;
  path: string | null;
  targetPath: string | null;
  offset: number | null;
  length: number | null;
  forwardHost: string | null;
  forwardPort: number | null;
  /** Names of the environment variables the agent asked to set (never their values). */
  environment: string[];
  ptyTerm: string | null;
  ptyCols: number | null;
  ptyRows: number | null;
}

export interface HttpHeader {
  name: string;
  value: string;
}

export interface HttpRequest {
  kind: 'http';
  method: string;
  path: string;
  query: string | null;
  headers: HttpHeader[];
  bodyDigest: string | null;
  kubernetesVerb: string | null;
  kubernetesResource: string | null;
  kubernetesNamespace: string | null;
  /** A JSON or text body up to the audit cap, detector matches redacted; null otherwise. */
  body: string | null;
  bodyBytes: number;
  contentType: string | null;
}

export interface McpTool {
  name: string;
  /** sha256:<hex> over the tool's canonical name, description and input schema. */
  fingerprint: string;
}

export interface McpRequest {
  kind: 'mcp';
  /** tools/call, resources/read, prompts/get, tools/list; sampling/createMessage and elicitation/create (server to agent). */
  method: string;
  /** tools/call: the tool; prompts/get: the prompt. */
  name: string | null;
  /** resources/read: the resource's URI. */
  uri: string | null;
  /** params.arguments (or a server request's params) as JSON text, detector matches redacted; null past the audit cap. */
  arguments: string | null;
  argumentsBytes: number;
  /** Hex SHA-256 of the arguments' JSON text as received. */
  argumentsDigest: string | null;
  /** tools/call: the tool's fingerprint as the server describes it now; null when it does not list the tool. */
  toolFingerprint: string | null;
  /** tools/list: every tool the server offers. */
  tools: McpTool[];
  /** The server's name and version from its initialize result. */
  server: string | null;
}

export type RequestDetail = SqlRequest | SshRequest | HttpRequest | McpRequest;

export interface RequestObserved {
  requestId: string;
  protocol: string;
  connection: string | null;
  detail: RequestDetail;
}

export type Decision = 'allow' | 'deny' | 'pending_approval';

export interface MaskingRule {
  target: string;
  strategy: string;
  detector: string | null;
}

export interface VerdictIssued {
  requestId: string;
  decision: Decision;
  policyVersion: string;
  ruleId: string | null;
  reason: string;
  errorCode: string | null;
  maskingPlan: MaskingRule[];
  approvalId: string | null;
  statementDigest: string | null;
  shadow: boolean;
  requestTimeUs: number;
  /** MCP tools/list: the tools this identity may call (allowed or with approval), pinned and unchanged. */
  visibleTools: string[];
}

export type ResponseOutcome = 'ok' | 'error' | 'denied' | 'cancelled' | 'failed';

export interface ColumnInfo {
  name: string;
  typeOid: number;
}

export interface ResponseObserved {
  requestId: string;
  outcome: ResponseOutcome;
  commandTags: string[];
  rowCount: number;
  columns: ColumnInfo[];
  durationUs: number;
  bytes: number;
  sampleRows: (string | null)[][];
  sampleTruncated: boolean;
  resultDigest: string | null;
  errorCode: string | null;
  errorMessage: string | null;
  /** Cells masked for the agent, by `column:<label>` and `detector:<name>` (MaskingTally keys). */
  masking: MaskingCount[];
  /** SSH: the remote command's exit status or signal. */
  exitStatus: number | null;
  exitSignal: string | null;
  /** SSH: each byte stream's size and digest. */
  streams: StreamDigest[];
  /** HTTP: the status the agent received, and the start of the body it received (masked). */
  httpStatus: number | null;
  bodySample: string | null;
}

export interface StreamDigest {
  name: string;
  bytes: number;
  sha256: string;
}

/** One asciicast v2 event: o output, i input, r resize ("COLSxROWS"). */
export interface TerminalFrame {
  offsetUs: number;
  kind: 'o' | 'i' | 'r';
  data: string;
}

export interface TerminalRecorded {
  requestId: string;
  frames: TerminalFrame[];
  masking: MaskingCount[];
}

export interface MaskingCount {
  key: string;
  count: number;
}

export interface SessionClosed {
  reason: string;
  errorCode: string | null;
  durationUs: number;
  requestCount: number;
}

export interface SessionKillRequested {
  targetSessionId: string;
  reason: string;
  requestedBy: string;
}

export interface ApprovalRequested {
  approvalId: string;
  requestId: string;
  requestSessionId: string;
  requestHash: string;
  pendingVerdictHash: string;
  protocol: string;
  connection: string | null;
  /** The request as recorded (masked literals). */
  text: string;
  parameters: (string | null)[];
  statementKinds: string[];
  /** Binds a grant to one statement: identity, connection, statement, parameters. */
  statementDigest: string;
  policyVersion: string;
  ruleId: string;
  reason: string;
  approverGroups: string[];
  quorum: number;
  /** When not empty: one approval from each of these groups as well. */
  quorumGroups: string[];
  expiresAtUs: number;
  grantScope: GrantScope;
  grantSec: number;
  notify: string[];
}

export type GrantScope = 'statement' | 'window';

export interface ApprovalDecided {
  approvalId: string;
  decision: 'approve' | 'deny';
  comment: string | null;
}

export type ApprovalOutcome = 'approved' | 'denied' | 'expired';

export interface ApprovalResolved {
  approvalId: string;
  outcome: ApprovalOutcome;
  decidedBy: string[];
  grantScope: GrantScope | null;
  grantExpiresAtUs: number | null;
}

export interface GrantUsed {
  approvalId: string;
  requestId: string;
  requestSessionId: string;
  verdictHash: string;
  /** The use is given back: its request never ran. */
  released: boolean;
}

export interface BlastRadiusEstimated {
  approvalId: string;
  requestId: string;
  estimatedRows: number | null;
  planSummary: string | null;
  error: string | null;
}

export interface ChainHead {
  sessionId: string;
  /** The highest seq of the session's chain seen so far (shadow verdicts excluded). */
  seq: number;
  hash: string;
  /** Events of the session seen so far, shadow verdicts included. */
  events: number;
}

/** A signed statement of chain heads (see schemas/audit-event.avsc). */
export interface CheckpointSigned {
  checkpointerId: string;
  algorithm: 'Ed25519';
  keyId: string;
  publicKey: string;
  coveredFromUs: number;
  coveredUntilUs: number;
  heads: ChainHead[];
  previousCheckpointHash: string | null;
  signedText: string;
  signature: string;
}

export interface LegalHoldChanged {
  heldSessionId: string;
  action: 'add' | 'remove';
  reason: string;
  requestedBy: string;
}

export interface RetentionApplied {
  partition: string;
  action: 'drop' | 'keep';
  tables: string[];
  rows: number;
  heldSessions: string[];
  cutoffUs: number;
  requestedBy: string;
}

/** Payload type by event type name (the Avro record name of the payload branch). */
export interface PayloadByType {
  SessionOpened: SessionOpened;
  RequestObserved: RequestObserved;
  VerdictIssued: VerdictIssued;
  ResponseObserved: ResponseObserved;
  SessionClosed: SessionClosed;
  SessionKillRequested: SessionKillRequested;
  ApprovalRequested: ApprovalRequested;
  ApprovalDecided: ApprovalDecided;
  ApprovalResolved: ApprovalResolved;
  GrantUsed: GrantUsed;
  BlastRadiusEstimated: BlastRadiusEstimated;
  CheckpointSigned: CheckpointSigned;
  LegalHoldChanged: LegalHoldChanged;
  RetentionApplied: RetentionApplied;
  TerminalRecorded: TerminalRecorded;
}

export type EventType = keyof PayloadByType;

export const EVENT_TYPES: readonly EventType[] = [
  'SessionOpened',
  'RequestObserved',
  'VerdictIssued',
  'ResponseObserved',
  'SessionClosed',
  'SessionKillRequested',
  'ApprovalRequested',
  'ApprovalDecided',
  'ApprovalResolved',
  'GrantUsed',
  'BlastRadiusEstimated',
  'CheckpointSigned',
  'LegalHoldChanged',
  'RetentionApplied',
  'TerminalRecorded',
];

/** An audit event: the envelope plus one typed payload. */
export type AuditEvent = {
  [T in EventType]: Envelope & { eventType: T; payload: PayloadByType[T] };
}[EventType];

/** An event of one given type. */
export type AuditEventOf<T extends EventType> = Envelope & { eventType: T; payload: PayloadByType[T] };

/** An event before it is chained: the chain fills seq, prevHash and hash. */
export type UnchainedEvent<T extends EventType = EventType> = Omit<AuditEventOf<T>, 'seq' | 'prevHash' | 'hash'>;
