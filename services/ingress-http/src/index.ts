export { createHttpIngress, type HttpIngressDeps, type HttpIngressServer } from './app.js';
export { loadConfig, type HttpIngressConfig } from './config.js';
export { loadHttpCatalog, parseHttpCatalog, mayUse, type HttpCatalog, type HttpConnection, type UpstreamAuth } from './connections.js';
export {
  pipelineAudit,
  type ExchangeAudit,
  type OneRequestAudit,
  type StartExchangeAudit,
  type StartOneRequestAudit,
} from './exchange-audit.js';
