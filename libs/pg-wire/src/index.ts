export { FrontendParser, type FrontendParserOptions, type FrontendPhase } from './frontend-parser.js';
export type {
  FrontendMessage,
  ProtocolVersion,
  SslRequestMessage,
  GssEncRequestMessage,
  CancelRequestMessage,
  StartupMessage,
  QueryMessage,
  TerminateMessage,
  PasswordLikeMessage,
  ParseMessage,
  BindMessage,
  DescribeMessage,
  ExecuteMessage,
  SyncMessage,
  FlushMessage,
  CloseMessage,
  CopyDataMessage,
  CopyDoneMessage,
  CopyFailMessage,
  FunctionCallMessage,
} from './frontend-messages.js';
export { SSL_REQUEST_CODE, GSSENC_REQUEST_CODE, CANCEL_REQUEST_CODE, PROTOCOL_3_0 } from './startup-decoder.js';
export { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_STARTUP_BYTES, MAX_AUTH_MESSAGE_BYTES } from './limits.js';
export { decodePasswordMessage, decodeSaslInitialResponse } from './password-message.js';
export { BackendFramer, type BackendFrame, type BackendFramerOptions } from './backend-framer.js';
export {
  authenticationOk,
  authenticationCleartextPassword,
  authenticationSasl,
  authenticationSaslContinue,
  authenticationSaslFinal,
  parameterStatus,
  negotiateProtocolVersion,
  backendKeyData,
  readyForQuery,
  errorResponse,
  noticeResponse,
  commandComplete,
  emptyQueryResponse,
  rowDescription,
  dataRow,
  sslResponse,
  type ErrorFields,
  type Severity,
  type TransactionStatus,
  type RowDescriptionField,
} from './backend-messages.js';
export {
  decodeErrorFields,
  decodeReadyForQuery,
  decodeParameterStatus,
  decodeCommandComplete,
  decodeRowDescription,
  decodeDataRowColumnCount,
  decodeBackendKeyData,
  decodeAuthentication,
  type DecodedErrorFields,
  type DecodedRowDescriptionField,
  type AuthenticationRequest,
} from './backend-decoders.js';
export {
  scramClientFirst,
  scramClientFinal,
  scramVerifyServerFinal,
  type ScramClientFirstState,
  type ScramClientFinalState,
  type ScramClientFirstOptions,
  type ScramClientFinalOptions,
} from './scram.js';
export { md5PasswordHash } from './md5-password.js';
export {
  ConfirmedProtocolState,
  planExtendedBatch,
  type BatchDecision,
  type BatchPlan,
  type BatchRefusal,
  type KnownPortal,
  type KnownStatement,
  type PlannedMessage,
  type StatementsForgotten,
} from './extended-batch.js';
