export { quoteString, quoteIdentifier, quoteUInt, quoteStringList } from './literals.js';
export { createClickHouse, type ClickHouseClient, type ClickHouseOptions } from './client.js';
