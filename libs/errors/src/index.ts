export { ERROR_CODES, type ErrorCode } from './codes.js';
export { GatewayError, isGatewayError, toGatewayError } from './gateway-error.js';
export { PROBLEM_CONTENT_TYPE, problemDocument, type ProblemDocument } from './problem-details.js';
