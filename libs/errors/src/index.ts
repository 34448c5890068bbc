export { ERROR_CODES, type ErrorCode } from './codes.js';
export { GatewayError, isGatewayError, toGatewayError } from './gateway-error.js';
