// Messages a PostgreSQL client sends, as defined in "Message Formats" (protocol 3.0).
//
// Startup phase, no type byte:
//   SSLRequest (F)     Int32(8)  Int32(80877103)
//   GSSENCRequest (F)  Int32(8)  Int32(80877104)
//   CancelRequest (F)  Int32(16) Int32(80877102) Int32 process ID, Int32 secret key
//   StartupMessage (F) Int32 length, Int32(196608) protocol 3.0,
//                      then pairs of String name, String value, then Byte1('\0')
// Typed phase: Byte1 type, Int32 length (counts itself, not the type byte), body.

/** Protocol version from a StartupMessage: major in the high 16 bits, minor in the low 16. */
export interface ProtocolVersion {
  major: number;
  minor: number;
}

/** Fields every decoded frontend message carries. */
interface Framed {
  /** The exact frame bytes, type byte included, for forwarding unchanged. */
  raw: Buffer;
}

/** SSLRequest: the client asks to switch to TLS before the StartupMessage. */
export interface SslRequestMessage extends Framed {
  type: 'SSLRequest';
}
/** GSSENCRequest: the client asks for GSSAPI encryption before the StartupMessage. */
export interface GssEncRequestMessage extends Framed {
  type: 'GSSENCRequest';
}
/** CancelRequest: sent on a fresh connection to cancel a query on another one. */
export interface CancelRequestMessage extends Framed {
  type: 'CancelRequest';
  processId: number;
  secretKey: number;
}
/** StartupMessage: protocol version and connection parameters (user, database, options...). */
export interface StartupMessage extends Framed {
  type: 'Startup';
  protocolVersion: ProtocolVersion;
  /** Null-prototype object: client-chosen names such as `__proto__` stay plain data. */
  parameters: Record<string, string>;
}
/** Query ('Q'): simple-protocol SQL text. */
export interface QueryMessage extends Framed {
  type: 'Query';
  sql: string;
}
/** Terminate ('X'). */
export interface TerminateMessage extends Framed {
  type: 'Terminate';
}
/** 'p': PasswordMessage, SASLInitialResponse or SASLResponse; only the auth state tells which. */
export interface PasswordLikeMessage extends Framed {
  type: 'PasswordLike';
  payload: Buffer;
}
/** Parse ('P'): prepare a statement; an OID of 0 leaves the parameter type unspecified. */
export interface ParseMessage extends Framed {
  type: 'Parse';
  name: string;
  sql: string;
  paramTypeOids: number[];
}
/** Bind ('B'): bind parameters to a prepared statement, creating a portal. */
export interface BindMessage extends Framed {
  type: 'Bind';
  portal: string;
  statement: string;
  paramFormats: number[];
  /** null is SQL NULL (wire length -1). */
  params: (Buffer | null)[];
  resultFormats: number[];
}
/** Describe ('D'): 'S' for a prepared statement, 'P' for a portal. */
export interface DescribeMessage extends Framed {
  type: 'Describe';
  target: 'S' | 'P';
  name: string;
}
/** Execute ('E'): run a portal; maxRows 0 means no limit. */
export interface ExecuteMessage extends Framed {
  type: 'Execute';
  portal: string;
  maxRows: number;
}
/** Sync ('S'): end of an extended-protocol batch. */
export interface SyncMessage extends Framed {
  type: 'Sync';
}
/** Flush ('H'): ask the server to send pending output. */
export interface FlushMessage extends Framed {
  type: 'Flush';
}
/** Close ('C'): 'S' for a prepared statement, 'P' for a portal. */
export interface CloseMessage extends Framed {
  type: 'Close';
  target: 'S' | 'P';
  name: string;
}
/** CopyData ('d'): a chunk of COPY FROM STDIN data. */
export interface CopyDataMessage extends Framed {
  type: 'CopyData';
  data: Buffer;
}
/** CopyDone ('c'). */
export interface CopyDoneMessage extends Framed {
  type: 'CopyDone';
}
/** CopyFail ('f'): the client aborts COPY FROM STDIN with a reason. */
export interface CopyFailMessage extends Framed {
  type: 'CopyFail';
  message: string;
}
/**
 * FunctionCall ('F'): the fast-path interface (libpq's PQfn, its lo_* functions) runs a function
 * by OID with no statement text. The server answers FunctionCallResponse ('V') or ErrorResponse,
 * then ReadyForQuery.
 */
export interface FunctionCallMessage extends Framed {
  type: 'FunctionCall';
  functionOid: number;
  /** As Bind's: none = all text, one = for all, else one per argument (0 text, 1 binary). */
  argFormats: number[];
  /** null is SQL NULL (wire length -1). */
  args: (Buffer | null)[];
  resultFormat: number;
}

/** Any message a PostgreSQL client can send. */
export type FrontendMessage =
  | SslRequestMessage
  | GssEncRequestMessage
  | CancelRequestMessage
  | StartupMessage
  | QueryMessage
  | TerminateMessage
  | PasswordLikeMessage
  | ParseMessage
  | BindMessage
  | DescribeMessage
  | ExecuteMessage
  | SyncMessage
  | FlushMessage
  | CloseMessage
  | CopyDataMessage
  | CopyDoneMessage
  | CopyFailMessage
  | FunctionCallMessage;
