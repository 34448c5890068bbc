// replay, search, hold and retention through the audit API (issue 15)
import type { Command } from 'commander';
import type { AuditReader } from './backends.js';
import type { CliConfig } from './config.js';
import type { CliIo } from './output.js';

export interface AuditCommandContext {
  io: CliIo;
  configOf(): Readonly<CliConfig>;
  /** Runs with a ClickHouse reader (the `reader` login) and closes it. */
  withAudit(run: (audit: AuditReader) => Promise<number>): Promise<number>;
  setExit(code: number): void;
  env: Readonly<Record<string, string | undefined>>;
}

export function registerAuditCommands(_program: Command, _ctx: AuditCommandContext): void {}
