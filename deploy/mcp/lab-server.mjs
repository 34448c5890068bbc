#!/usr/bin/env node
// mcp-lab: the demo's stand-in for a server that changes under its users ("rug pull"). Its one
// tool's description is read from a file at start, so an operator (or a test) can change it
// between two sessions and watch the gateway refuse the changed tool until it is re-approved.
// Published servers cannot be changed that way, which is why the demo has this one. It also
// appends every call it receives to calls.log, so a check can see what reached the target.
// Usage: node lab-server.mjs <data dir>   (stdio; the gateway starts one per session)
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema, McpError, ErrorCode } from '@modelcontextprotocol/sdk/types.js';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: lab-server.mjs <data dir>');
  process.exit(2);
}
const description = readFileSync(join(dir, 'description.txt'), 'utf8').trim();
const tool = {
  name: 'get_note',
  description,
  inputSchema: { type: 'object', properties: { id: { type: 'string', maxLength: 64 } }, required: ['id'] },
};
const server = new Server({ name: 'agentgate-mcp-lab', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: [tool] }));
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const id = request.params.arguments?.id;
  if (request.params.name !== 'get_note' || typeof id !== 'string') throw new McpError(ErrorCode.InvalidParams, 'get_note needs an id');
  appendFileSync(join(dir, 'calls.log'), `${JSON.stringify({ tool: 'get_note', id, at: new Date().toISOString() })}\n`);
  return { content: [{ type: 'text', text: `note ${id}: the lab server answered` }] };
});
await server.connect(new StdioServerTransport());
