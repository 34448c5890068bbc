import { randomUUID, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createTokenVerifier, loadTrustFile } from '@agentgate/identity';
import { loadMaskingKeys, MaskingPlans, startIngressPipeline } from '@agentgate/ingress-core';
import { runService } from '@agentgate/observability';
import { fingerprint, publicKeyBlob } from '@agentgate/ssh-cert';
import { createSshIngress } from './app.js';
import { createCertApi } from './cert-api.js';
import { loadConfig } from './config.js';
import { loadSshCatalog } from './connections.js';

const env = Object.freeze({ ...process.env });

await runService({
  name: 'ingress-ssh',
  loadConfig: () => loadConfig(env),
  async start(config, logger) {
    const catalog = loadSshCatalog(config.connectionsFile, env);
    const maskingPlans = new MaskingPlans(loadMaskingKeys(config.connectionsFile, env));
    const verifier = createTokenVerifier(loadTrustFile(config.identityFile));
    // Read once at start like every credential: a key that cannot be read fails the start.
    const caKey = createPrivateKey(readFileSync(config.caKeyFile));
    const caBlob = publicKeyBlob(createPublicKey(caKey));
    const pipeline = await startIngressPipeline({ ...config, verdictReader: 'ssh' }, logger, (t) => ({ ensured: [t.control] }));
    const { topics, sink, verdicts } = pipeline;
    const server = createSshIngress({
      config,
      catalog,
      verifier,
      trustedCaKeys: [caBlob],
      sink,
      ingressTopic: topics.ingress,
      verdicts,
      maskingPlans,
      env,
      logger,
      newId: randomUUID,
      nowUs: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
      hostKeyFile: config.hostKeyFile,
    });
    const control = await pipeline.startControlFeed(config.controlGroup, (sessionId, message) => server.kill(sessionId, message));
    const certApi = createCertApi({
      ca: caKey,
      verifyToken: (token) => verifier.verify(token),
      connectionsFor: (identity) => catalog.usableBy(identity.groups),
      maxTtlSec: config.maxCertTtlSec,
      now: () => new Date(),
      logger,
    });
    await certApi.listen({ host: config.listenHost, port: config.certApiPort });
    const port = await server.listen(config.listenHost, config.listenPort);
    return {
      readiness: () => ({ verdictFeed: verdicts.ready, controlFeed: control.ready }),
      metrics: () => server.metrics() + verdicts.metrics() + sink.metrics(),
      describe: () => ({ host: config.listenHost, port, caFingerprint: fingerprint(caBlob), connections: catalog.names() }),
      async stop() {
        await server.close();
        await certApi.close();
        await pipeline.stop();
      },
    };
  },
});
