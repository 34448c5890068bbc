export * from './audit-log.js';
export * from './verdict-feed.js';
export * from './control-feed.js';
export * from './credentials.js';
export * from './masking-keys.js';
export * from './masking-plans.js';
export * from './decide.js';
export * from './catalog-file.js';
