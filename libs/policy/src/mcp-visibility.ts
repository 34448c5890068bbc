// Which tools a tools/list shows the agent: those it could call. A tool is shown when it is
// pinned with the fingerprint the server offers now, and an optimistic evaluation of a call of it
// (same identity, connection and time; arguments unknown) allows it, masks it or asks for
// approval. Optimistic because the arguments are not known yet: argument conditions count as
// matching in allow, mask and approve rules and as not matching in deny rules. Showing a tool
// grants nothing: each real call is decided again on its own arguments and the pins.
import { evaluateRequest } from './evaluate.js';
import type { CompiledPolicy, PolicyInput } from './types.js';

/** MCP tools/list: the names of the offered tools the requester may see (in the offered order); [] for any other request. */
export function visibleTools(policy: CompiledPolicy, input: PolicyInput): string[] {
  const list = input.mcp;
  if (input.protocol !== 'mcp' || list === undefined || list.method !== 'tools/list' || input.connection === null) return [];
  const pins = policy.mcpPins.get(input.connection);
  if (!pins) return [];
  const out: string[] = [];
  for (const tool of list.tools) {
    const pin = pins.get(tool.name);
    if (pin === undefined || out.includes(tool.name)) continue;
    // A name offered twice is shown only if every offer of it is the approved one.
    if (!list.tools.every((t) => t.name !== tool.name || t.fingerprint === pin)) continue;
    const call: PolicyInput = {
      ...input,
      mcp: { method: 'tools/call', name: tool.name, uri: null, arguments: null, toolFingerprint: tool.fingerprint, tools: [] },
    };
    if (evaluateRequest(policy, call, undefined, { optimistic: true }).decision !== 'deny') out.push(tool.name);
  }
  return out;
}
