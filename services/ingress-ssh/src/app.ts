// Builds the SSH ingress: an ssh2 server whose every connection is an SshAgentSession.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import ssh2 from 'ssh2';
import { SshAgentSession, type SessionDeps } from './session.js';

// ssh2 is CommonJS: its classes are not visible as named ES exports.
const { Server } = ssh2;

export interface SshIngressServer {
  listen(host: string, port: number): Promise<number>;
  /** Ends a live session held by this instance; false when it holds no such session. */
  kill(sessionId: string, message: string): boolean;
  close(): Promise<void>;
  sessionCount(): number;
  metrics(): string;
}

export function createSshIngress(deps: SessionDeps & { hostKeyFile: string }): SshIngressServer {
  const sessions = new Map<string, SshAgentSession>();
  let opened = 0;
  let refused = 0;
  const server = new Server(
    {
      hostKeys: [readFileSync(deps.hostKeyFile)],
      ident: 'agentgate',
    },
    (client, info) => {
      opened++;
      if (sessions.size >= deps.config.maxSessions) {
        refused++;
        client.on('error', () => {});
        client.end();
        return;
      }
      const session = new SshAgentSession(client, info, deps);
      sessions.set(session.sessionId, session);
      client.on('close', () => {
        const forget = (): void => {
          if (session.closed) sessions.delete(session.sessionId);
          else setTimeout(forget, 100).unref();
        };
        forget();
      });
    },
  );
  server.on('error', (err: Error) => deps.logger.error({ err: err.message }, 'ssh server error'));
  return {
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
      }),
    kill(sessionId, message) {
      const session = sessions.get(sessionId);
      if (!session || session.closed) return false;
      void session.terminate('AG_ERR_SESSION_KILLED', 'killed', message);
      return true;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...sessions.values()].map((s) => s.terminate('AG_ERR_SHUTTING_DOWN', 'shutdown', 'the gateway is shutting down')));
      await closed;
    },
    sessionCount: () => sessions.size,
    metrics: () =>
      `# TYPE agentgate_ssh_sessions_opened_total counter\nagentgate_ssh_sessions_opened_total ${opened}\n` +
      `# TYPE agentgate_ssh_sessions_active gauge\nagentgate_ssh_sessions_active ${sessions.size}\n` +
      `# TYPE agentgate_ssh_sessions_refused_total counter\nagentgate_ssh_sessions_refused_total ${refused}\n`,
  };
}
