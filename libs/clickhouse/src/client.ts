import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';

export type { ClickHouseClient } from '@clickhouse/client';

export interface ClickHouseOptions {
  url: string;
  database: string;
  username?: string;
  password?: string;
  requestTimeoutMs?: number;
  /**
   * No console logging by the client (it logs every failed request with its stack by default).
   * For callers that report each failure themselves, such as the CLI.
   */
  quiet?: boolean;
}

/** The official client, configured for agentgate (works with 18.16 and current servers). */
export function createClickHouse(options: ClickHouseOptions): ClickHouseClient {
  return createClient({
    url: options.url,
    database: options.database,
    username: options.username ?? 'default',
    password: options.password ?? '',
    request_timeout: options.requestTimeoutMs ?? 30_000,
    // 18.16 predates many settings; send none by default.
    clickhouse_settings: {},
    ...(options.quiet ? { log: { level: ClickHouseLogLevel.OFF } } : {}),
  });
}
