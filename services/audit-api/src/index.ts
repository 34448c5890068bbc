export { buildAuditApp, searchFilters, type AuditAppDeps } from './app.js';
export { loadConfig, type AuditApiConfig } from './config.js';
export { searchQuery, approvalsQuery, searchResults, type SearchFilters, type SearchResult } from './search-query.js';
