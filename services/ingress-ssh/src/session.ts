// One agent's SSH connection: authentication, then every channel it opens. Each exec, shell,
// SFTP operation and forward is a request recorded and decided before anything reaches the
// target; the target connection (the gateway's own login) is opened at the first allowed one.
import type { Client, ClientChannel } from 'ssh2';
import type { AuthContext, AuthenticationType, ClientInfo, Connection, PseudoTtyInfo, ServerChannel, Session, SFTPWrapper } from 'ssh2';
import { GatewayError, toGatewayError } from '@agentgate/errors';
import type { AuditEventOf, RequestObserved, ResponseObserved, SshRequest, TerminalFrame } from '@agentgate/events';
import type { TokenVerifier } from '@agentgate/identity';
import { type AuditSink, type Decided, decideRequest, type MaskingPlans, SessionAudit, type VerdictFeed } from '@agentgate/ingress-core';
import type { CompiledPlan } from '@agentgate/masking';
import type { Logger } from '@agentgate/observability';
import { identityOfCertificate, identityOfToken, type SshIdentity, untrustedKeyId } from './auth.js';
import type { SshIngressConfig } from './config.js';
import { loginFor, type SshCatalog, type SshConnection, type SshLogin } from './connections.js';
import { runExec } from './exec-channel.js';
import { relayForward } from './forward-channel.js';
import { approvalNotice, failureMessage, EXIT_GATEWAY_FAILED, EXIT_REFUSED, refusalMessage, sshDetail, sshResponse } from './requests.js';
import { relaySftp, type SftpGate } from './sftp-relay.js';
import { runShell } from './shell-channel.js';
import { connectTarget } from './target.js';

export interface SessionDeps {
  config: Readonly<SshIngressConfig>;
  catalog: SshCatalog;
  verifier: TokenVerifier;
  /** The SSH CA's public key blobs: certificates they signed are accepted. */
  trustedCaKeys: Buffer[];
  sink: AuditSink;
  ingressTopic: string;
  verdicts: VerdictFeed;
  maskingPlans: MaskingPlans;
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  newId: () => string;
  nowUs: () => number;
}

/** What a channel needs of its session to decide, record and reach the target. */
export interface ChannelContext {
  readonly deps: SessionDeps;
  readonly log: Logger;
  /** Records the request and returns its verdict; rejects with a GatewayError (fail closed). */
  decide(detail: SshRequest): Promise<Decided>;
  respond(payload: ResponseObserved): void;
  recordTerminal(requestId: string, frames: TerminalFrame[], masking: Record<string, number>): Promise<void>;
  /** The verdict's masking plan, compiled; undefined when it masks nothing. */
  planOf(decided: Decided): CompiledPlan | undefined;
  target(): Promise<Client>;
  /** Channels of this session still open, so that a kill or expiry can tell the agent why. */
  track(channel: ServerChannel): () => void;
}

// How long a kill or expiry waits for the agent to read why before the connection goes.
const TELL_GRACE_MS = 1000;

const AUTH_METHODS: AuthenticationType[] = ['publickey', 'password', 'keyboard-interactive'];

export class SshAgentSession implements ChannelContext {
  readonly sessionId: string;
  readonly log: Logger;
  private identity: SshIdentity | undefined;
  private connection: SshConnection | undefined;
  private login: SshLogin | undefined;
  private audit: SessionAudit | undefined;
  private opened: Promise<void> | undefined;
  private targetClient: Promise<Client> | undefined;
  private readonly openedAtUs: number;
  private requests = 0;
  private readonly channels = new Set<ServerChannel>();
  private expiry: NodeJS.Timeout | undefined;
  private authTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;
  closed = false;

  constructor(
    private readonly client: Connection,
    private readonly info: ClientInfo,
    readonly deps: SessionDeps,
  ) {
    this.sessionId = deps.newId();
    this.openedAtUs = deps.nowUs();
    this.log = deps.logger.child({ sessionId: this.sessionId, client: `${info.ip}:${info.port}` });
    this.authTimer = setTimeout(() => {
      this.log.info('authentication timed out');
      client.end();
    }, deps.config.authTimeoutMs);
    client.on('authentication', (ctx) => void this.authenticate(ctx));
    client.on('ready', () => this.ready());
    client.on('error', (err) => this.log.debug({ err: err.message }, 'client connection error'));
    client.on('close', () => void this.finish('client-disconnect', null));
  }

  // ------------------------------------------------------------------ authentication

  private async authenticate(ctx: AuthContext): Promise<void> {
    const connection = this.deps.catalog.get(ctx.username);
    try {
      let identity: SshIdentity | undefined;
      switch (ctx.method) {
        case 'password':
          identity = await identityOfToken(this.deps.verifier, ctx.password);
          break;
        case 'keyboard-interactive': {
          const answers = await new Promise<string[]>((resolve) =>
            ctx.prompt([{ prompt: 'agentgate access token: ', echo: false }], '', '', resolve),
          );
          identity = await identityOfToken(this.deps.verifier, answers[0] ?? '');
          break;
        }
        case 'publickey': {
          identity = identityOfCertificate(
            { algorithm: ctx.key.algo, key: ctx.key.data, signature: ctx.signature, signedData: ctx.blob },
            { trustedCaKeys: this.deps.trustedCaKeys, nowSec: Math.floor(Date.now() / 1000), user: ctx.username },
          );
          // A key check without signature: tell the client this certificate would do.
          if (!identity) return ctx.accept();
          break;
        }
        default:
          return ctx.reject(AUTH_METHODS);
      }
      if (!connection) throw new GatewayError('AG_ERR_CONNECTION_UNKNOWN', `no SSH connection named ${JSON.stringify(ctx.username)}`);
      const login = loginFor(connection, identity.actor.groups);
      if (!login) throw new GatewayError('AG_ERR_CONNECTION_FORBIDDEN', `your groups may not use connection ${connection.name}`);
      if (identity.expiresAtMs <= Date.now()) throw new GatewayError('AG_ERR_TOKEN_EXPIRED', 'the credential has expired');
      this.identity = identity;
      this.connection = connection;
      this.login = login;
      this.log.info({ connection: connection.name, subject: identity.actor.subject, method: ctx.method }, 'authenticated');
      ctx.accept();
    } catch (err) {
      const error = toGatewayError(err);
      const keyId = ctx.method === 'publickey' ? untrustedKeyId(ctx.key.data) : undefined;
      this.log.info({ code: error.code, method: ctx.method, user: ctx.username, keyId }, 'authentication refused');
      ctx.reject(AUTH_METHODS);
    }
  }

  // ------------------------------------------------------------------ the session

  private ready(): void {
    clearTimeout(this.authTimer);
    const identity = this.identity!;
    const connection = this.connection!;
    this.audit = new SessionAudit({
      sink: this.deps.sink,
      topic: this.deps.ingressTopic,
      sessionId: this.sessionId,
      producer: this.deps.config.instanceId,
      actor: identity.actor,
      newEventId: this.deps.newId,
      nowUs: this.deps.nowUs,
    });
    this.opened = this.audit
      .record(
        'SessionOpened',
        {
          protocol: 'ssh',
          connection: connection.name,
          targetHost: connection.host,
          targetPort: connection.port,
          targetDatabase: null,
          clientAddress: this.info.ip,
          clientPort: this.info.port,
          clientTls: false,
          clientApplication: this.info.header.versions.software ?? null,
          ingressInstance: this.deps.config.instanceId,
          startupParameters: [],
          targetUser: this.login!.username,
        },
        this.deps.config.auditWriteTimeoutMs,
      )
      .then(() => {});
    this.opened.catch((err: unknown) => this.log.warn({ code: toGatewayError(err).code }, 'session not recorded'));
    const remaining = identity.expiresAtMs - Date.now();
    this.expiry = setTimeout(
      () => void this.terminate('AG_ERR_TOKEN_EXPIRED', 'token-expired', 'your token expired'),
      Math.max(remaining, 0),
    );
    this.expiry.unref();
    // Keystrokes and small exec round trips must not wait on Nagle's algorithm.
    // (ssh2's server connection has setNoDelay, its type declarations do not.)
    (this.client as Connection & { setNoDelay(noDelay: boolean): void }).setNoDelay(true);
    this.client.on('session', (accept) => this.onSession(accept()));
    this.client.on('tcpip', (accept, reject, info) => void relayForward(this, accept, reject, info));
    // Remote forwarding (tcpip-forward), streamlocal and the like: refused.
    this.client.on('request', (_accept, reject, name) => {
      this.log.info({ request: name }, 'global request refused');
      reject?.();
    });
    this.client.on('openssh.streamlocal', (_accept: unknown, reject: () => void) => reject());
  }

  private onSession(session: Session): void {
    let pty: PseudoTtyInfo | undefined;
    const environment = new Map<string, string>();
    let onResize: ((cols: number, rows: number) => void) | undefined;
    session.on('pty', (accept, _reject, info) => {
      pty = info;
      accept?.();
    });
    session.on('window-change', (accept, _reject, info) => {
      if (pty) pty = { ...pty, cols: info.cols, rows: info.rows };
      onResize?.(info.cols, info.rows);
      accept?.();
    });
    // Recorded with the request that uses them (names only) and passed on if policy allows it.
    session.on('env', (accept, _reject, info) => {
      if (environment.size < 64 && info.key.length <= 256 && info.val.length <= 4096) environment.set(info.key, info.val);
      accept?.();
    });
    session.on('auth-agent', (_accept, reject) => {
      this.log.info('agent forwarding refused');
      reject?.();
    });
    session.on('x11', (_accept, reject) => {
      this.log.info('X11 forwarding refused');
      reject?.();
    });
    session.on('exec', (accept, _reject, info) => {
      void runExec(this, accept(), { command: info.command, pty, environment });
    });
    session.on('shell', (accept) => {
      const resize = runShell(this, accept(), { pty, environment });
      onResize = resize;
    });
    session.on('sftp', (accept) => this.onSftp(accept));
    session.on('subsystem', (_accept, reject, info) => {
      this.log.info({ subsystem: info.name }, 'subsystem refused');
      reject?.();
    });
  }

  private onSftp(accept: () => SFTPWrapper): void {
    const agentSftp = accept();
    const gate: SftpGate = {
      request: async (op) => {
        const decided = await this.decide(
          sshDetail({
            channel: 'sftp',
            subsystem: 'sftp',
            operation: op.operation,
            path: op.path,
            targetPath: op.targetPath,
            offset: op.offset,
            length: op.length,
          }),
        );
        const requestId = decided.request.payload.requestId;
        const allowed = decided.verdict.payload.decision === 'allow';
        if (!allowed)
          this.respond(sshResponse(requestId, 'denied', { errorCode: decided.verdict.payload.errorCode ?? 'AG_ERR_POLICY_DENIED' }));
        return {
          allowed,
          message: allowed ? '' : refusalMessage(decided.verdict.payload).trim(),
          done: (outcome) =>
            this.respond(
              sshResponse(requestId, outcome.outcome, {
                errorCode: outcome.errorCode,
                errorMessage: outcome.errorMessage,
                streams: outcome.streams,
              }),
            ),
        };
      },
    };
    // OpenSSH sends its first SFTP packets without waiting for the subsystem's reply: the relay
    // must listen in this very tick; its requests wait for the target after their verdicts.
    const targetSftp = this.target().then(
      (target) => new Promise<SFTPWrapper>((resolve, reject) => target.sftp((err, sftp) => (err ? reject(err) : resolve(sftp)))),
    );
    targetSftp.catch((err: unknown) => this.log.warn({ code: toGatewayError(err).code }, 'SFTP could not start on the target'));
    const relay = relaySftp(agentSftp, targetSftp, gate, this.log);
    agentSftp.on('close', () => {
      relay.close();
      targetSftp.then((sftp) => sftp.end()).catch(() => {});
    });
  }

  // ------------------------------------------------------------------ ChannelContext

  async decide(detail: SshRequest): Promise<Decided> {
    await this.opened;
    this.requests++;
    const payload: RequestObserved = { requestId: this.deps.newId(), protocol: 'ssh', connection: this.connection!.name, detail };
    const { config } = this.deps;
    return decideRequest(
      this.audit!,
      {
        verdicts: this.deps.verdicts,
        auditWriteTimeoutMs: config.auditWriteTimeoutMs,
        verdictTimeoutMs: config.verdictTimeoutMs,
        approvalWaitMs: config.approvalWaitMs,
        onPendingApproval: (pending) => {
          const message = approvalNotice(pending.payload.approvalId ?? '', config.approvalsUrl, config.approvalWaitMs);
          for (const channel of this.channels) channel.stderr.write(message);
        },
      },
      payload,
    );
  }

  respond(payload: ResponseObserved): void {
    this.audit?.record('ResponseObserved', payload, this.deps.config.auditWriteTimeoutMs).catch((err: unknown) => {
      this.log.warn({ code: toGatewayError(err).code }, 'response not recorded');
    });
  }

  async recordTerminal(requestId: string, frames: TerminalFrame[], masking: Record<string, number>): Promise<void> {
    await this.audit!.record(
      'TerminalRecorded',
      { requestId, frames, masking: Object.entries(masking).map(([key, count]) => ({ key, count })) },
      this.deps.config.auditWriteTimeoutMs,
    );
  }

  planOf(decided: Decided): CompiledPlan | undefined {
    return this.deps.maskingPlans.forVerdict(decided.verdict.payload.maskingPlan);
  }

  target(): Promise<Client> {
    if (this.closing) return Promise.reject(new GatewayError('AG_ERR_UPSTREAM_CLOSED', 'the session has ended'));
    if (!this.targetClient) {
      this.targetClient = connectTarget(this.connection!, this.login!, this.deps.env, this.deps.config.upstreamConnectTimeoutMs);
      this.targetClient.then(
        (client) => {
          // A login that completes after the agent left is ended at once.
          if (this.closing) client.end();
          client.setNoDelay(true);
          client.on('close', () => {
            if (!this.closed) void this.terminate('AG_ERR_UPSTREAM_CLOSED', 'upstream-closed', 'the target closed the connection');
          });
        },
        () => {
          this.targetClient = undefined;
        },
      );
    }
    return this.targetClient;
  }

  track(channel: ServerChannel): () => void {
    this.channels.add(channel);
    return () => this.channels.delete(channel);
  }

  // ------------------------------------------------------------------ ending

  /** Ends the session: every open channel is told why, the close is recorded, the connection ends. */
  async terminate(code: string, reason: string, message: string): Promise<void> {
    const told: Promise<unknown>[] = [];
    for (const channel of this.channels) {
      try {
        told.push(new Promise((resolve) => channel.once('close', resolve)));
        channel.stderr.write(`\r\nagentgate: ${message} (${code})\r\n`);
        channel.exit(EXIT_GATEWAY_FAILED);
        channel.end();
      } catch {
        // The channel is already gone.
      }
    }
    const done = this.finish(reason, code);
    // The disconnect would overtake what the channels still have to send: it goes once the
    // agent has closed them (it has read why), or after a short grace.
    await Promise.race([Promise.all(told), new Promise((resolve) => setTimeout(resolve, TELL_GRACE_MS).unref())]);
    this.client.end();
    return done;
  }

  private finish(reason: string, code: string | null): Promise<void> {
    if (this.closing) return this.closing;
    clearTimeout(this.authTimer);
    clearTimeout(this.expiry);
    this.closing = (async () => {
      this.targetClient?.then((c) => c.end()).catch(() => {});
      if (this.audit && this.opened) {
        await this.opened
          .then(() =>
            this.audit!.record(
              'SessionClosed',
              { reason, errorCode: code, durationUs: this.deps.nowUs() - this.openedAtUs, requestCount: this.requests },
              this.deps.config.auditWriteTimeoutMs,
            ),
          )
          .catch((err: unknown) => this.log.warn({ code: toGatewayError(err).code }, 'session close not recorded'));
      }
      this.closed = true;
      this.log.info({ reason, code }, 'session closed');
    })();
    return this.closing;
  }
}

/** What an agent is told on a channel whose request failed: nothing ran. */
export function failChannel(channel: ServerChannel, err: unknown): GatewayError {
  const error = toGatewayError(err);
  try {
    channel.stderr.write(failureMessage(error));
    channel.exit(EXIT_GATEWAY_FAILED);
    channel.end();
  } catch {
    // The channel is already gone.
  }
  return error;
}

/** Tells the agent its request was refused, with the rule and the request id. */
export function refuseChannel(channel: ServerChannel, verdict: AuditEventOf<'VerdictIssued'>): void {
  channel.stderr.write(refusalMessage(verdict.payload));
  channel.exit(EXIT_REFUSED);
  channel.end();
}

export type { ClientChannel };
