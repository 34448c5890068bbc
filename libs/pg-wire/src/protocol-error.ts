import { GatewayError } from '@agentgate/errors';

/** Builds the error value for a malformed or unexpected PostgreSQL wire message. */
export function protocolViolation(message: string): GatewayError {
  return new GatewayError('AG_ERR_PROTOCOL_VIOLATION', message);
}

/** Builds the error value for a frame whose declared length exceeds the configured limit. */
export function messageTooLarge(length: number, limit: number): GatewayError {
  return new GatewayError('AG_ERR_MESSAGE_TOO_LARGE', `message length ${length} exceeds the limit of ${limit} bytes`);
}
