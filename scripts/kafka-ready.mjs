// Exits 0 when the Kafka broker at argv[2] answers a metadata request, 1 otherwise.
// Used by deploy/local/stack.sh as the readiness check. Credentials as the services take
// them: AG_KAFKA_USERNAME, AG_KAFKA_PASSWORD_FILE, AG_KAFKA_CA_FILE (SCRAM over TLS).
import { readFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';

const env = process.env;
const secured = env.AG_KAFKA_USERNAME && env.AG_KAFKA_PASSWORD_FILE && env.AG_KAFKA_CA_FILE;
const kafka = new Kafka({
  clientId: 'agentgate-readiness',
  brokers: [process.argv[2] ?? '127.0.0.1:19092'],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  requestTimeout: 2000,
  retry: { retries: 0 },
  ...(secured
    ? {
        ssl: { ca: [readFileSync(env.AG_KAFKA_CA_FILE, 'utf8')] },
        sasl: {
          mechanism: 'scram-sha-512',
          username: env.AG_KAFKA_USERNAME,
          password: readFileSync(env.AG_KAFKA_PASSWORD_FILE, 'utf8').trim(),
        },
      }
    : {}),
});
const admin = kafka.admin();
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  process.exit(cluster.brokers.length > 0 && cluster.controller !== null ? 0 : 1);
} catch {
  process.exit(1);
}
