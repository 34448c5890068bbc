export { type McpCatalog, type McpConnection, type McpHttpUpstream, type McpStdioUpstream, mayUseMcp, parseMcpCatalog } from './catalog.js';
export { type FingerprintedTool, toolFingerprint } from './fingerprint.js';
export { GATEWAY_CLIENT_CAPABILITIES, type UpstreamOptions, upstreamClient, upstreamTransport } from './upstream.js';
