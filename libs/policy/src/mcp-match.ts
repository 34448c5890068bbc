// MCP conditions against one MCP request (docs/policy.md, "MCP conditions"). Every condition of
// a rule must hold. `tool`, `prompt` and `resource` each confine a rule to the method that names
// them (a `tool` rule says nothing about tools/list). `arguments` reads as HTTP `json` does
// (json-match.ts): arguments the policy cannot read are covered by no allow rule and matched by
// every other rule with an `arguments` condition.
import { jsonMatches } from './json-match.js';
import { anyGlob } from './names.js';
import type { McpCondition, McpInput, RuleAction } from './types.js';

/** The methods each naming condition confines a rule to. */
export const MCP_CONDITION_METHODS = { tool: 'tools/call', prompt: 'prompts/get', resource: 'resources/read' } as const;

/**
 * Does `input` satisfy `cond` (null: no MCP condition) for a rule with `action`? `optimistic`
 * (for tools/list visibility: could some call of this tool be allowed?) reads `arguments` as
 * matching in allow, mask and approve rules and as not matching in deny rules, whatever the
 * arguments are: each real call is decided again on its own arguments.
 */
export function mcpMatches(cond: McpCondition | null, input: McpInput, action: RuleAction, optimistic = false): boolean {
  const c = cond ?? {};
  if (c.method && !anyGlob(c.method, input.method)) return false;
  const named = (globs: readonly string[] | undefined, method: string, value: string | null): boolean =>
    !globs || (input.method === method && value !== null && anyGlob(globs, value));
  if (!named(c.tool, MCP_CONDITION_METHODS.tool, input.name)) return false;
  if (!named(c.prompt, MCP_CONDITION_METHODS.prompt, input.name)) return false;
  if (!named(c.resource, MCP_CONDITION_METHODS.resource, input.uri)) return false;
  if (c.arguments) {
    if (optimistic) return action !== 'deny';
    if (!jsonMatches(c.arguments, input.arguments, action === 'allow')) return false;
  }
  return true;
}
