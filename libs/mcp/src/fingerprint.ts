// A tool's fingerprint: what an administrator approves when pinning a server's tools. It covers
// what steers an agent's use of the tool (name, description, input schema); a server that later
// changes any of them ("rug pull") presents a new fingerprint. Canonical JSON makes it
// independent of key order and whitespace, so only a change of meaning changes it.
import { createHash } from 'node:crypto';
import { canonicalJson } from '@agentgate/events';

/** The parts of an MCP Tool (tools/list) a fingerprint covers. */
export interface FingerprintedTool {
  name: string;
  description?: string | undefined;
  inputSchema?: unknown;
}

/** `sha256:<hex>` over the canonical JSON of the tool's name, description and input schema. */
export function toolFingerprint(tool: FingerprintedTool): string {
  const covered = { name: tool.name, description: tool.description ?? null, inputSchema: tool.inputSchema ?? null };
  return `sha256:${createHash('sha256').update(canonicalJson(covered)).digest('hex')}`;
}
