// Local port forwarding (`ssh -L`, a direct-tcpip channel): each forward is a request naming
// host:port as the agent asked for it, decided before the target connects anywhere. Allowed,
// the target opens the connection (the forward starts where the target is, as with OpenSSH);
// the bytes pass unchanged (a tunnel carries any protocol, often TLS) and the response records
// both directions' sizes and digests. Refused, the agent's client reports the channel refused.
import type { ClientChannel, ServerChannel, TcpipRequestInfo } from 'ssh2';
import { toGatewayError } from '@agentgate/errors';
import { StreamTally, sshDetail, sshResponse } from './requests.js';
import type { ChannelContext } from './session.js';

export async function relayForward(
  ctx: ChannelContext,
  accept: () => ServerChannel,
  reject: () => void,
  info: TcpipRequestInfo,
): Promise<void> {
  let requestId: string | undefined;
  try {
    const decided = await ctx.decide(sshDetail({ channel: 'direct-tcpip', forwardHost: info.destIP, forwardPort: info.destPort }));
    const rid = decided.request.payload.requestId;
    requestId = rid;
    if (decided.verdict.payload.decision !== 'allow') {
      reject();
      ctx.respond(sshResponse(rid, 'denied', { errorCode: decided.verdict.payload.errorCode ?? 'AG_ERR_POLICY_DENIED' }));
      return;
    }
    const target = await ctx.target();
    const upstream = await new Promise<ClientChannel>((resolve, fail) =>
      target.forwardOut(info.srcIP, info.srcPort, info.destIP, info.destPort, (err, stream) => (err ? fail(err) : resolve(stream))),
    );
    const channel = accept();
    const started = process.hrtime.bigint();
    const toTarget = new StreamTally('to-target');
    const fromTarget = new StreamTally('from-target');
    channel.on('error', () => {});
    upstream.on('error', () => {});
    channel.on('data', (chunk: Buffer) => toTarget.add(chunk));
    upstream.on('data', (chunk: Buffer) => fromTarget.add(chunk));
    channel.pipe(upstream).pipe(channel);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      channel.end();
      upstream.end();
      ctx.respond(
        sshResponse(rid, 'ok', {
          durationUs: Number((process.hrtime.bigint() - started) / 1000n),
          streams: [toTarget.digest(), fromTarget.digest()],
        }),
      );
    };
    channel.on('close', finish);
    upstream.on('close', finish);
  } catch (err) {
    const error = toGatewayError(err);
    ctx.log.warn({ code: error.code }, 'forward refused: the gateway could not decide or open it');
    reject();
    if (requestId) ctx.respond(sshResponse(requestId, 'failed', { errorCode: error.code, errorMessage: error.message }));
  }
}
