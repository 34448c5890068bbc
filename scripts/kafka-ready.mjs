// Exits 0 when the Kafka broker at argv[2] answers a metadata request, 1 otherwise.
// Used by deploy/local/stack.sh as the readiness check.
import { Kafka, logLevel } from 'kafkajs';

const kafka = new Kafka({
  clientId: 'agentgate-readiness',
  brokers: [process.argv[2] ?? '127.0.0.1:19092'],
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  requestTimeout: 2000,
  retry: { retries: 0 },
});
const admin = kafka.admin();
try {
  await admin.connect();
  const cluster = await admin.describeCluster();
  process.exit(cluster.brokers.length > 0 && cluster.controller !== null ? 0 : 1);
} catch {
  process.exit(1);
}
