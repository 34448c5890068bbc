// Keeps docker-compose.yml consistent with the local stack: every published host port
// must be the one deploy/local/versions.env pins for that component, on 127.0.0.1, and the
// stack is secured the same way.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const versions = Object.fromEntries(
  readFileSync(join(root, 'deploy/local/versions.env'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z0-9_]+=/.test(l))
    .map((l) => l.split('=', 2)),
);
const expected = {
  'target-postgres': versions.AG_TARGET_PG_PORT,
  clickhouse: versions.AG_CLICKHOUSE_HTTP_PORT,
  kafka: versions.AG_KAFKA_PORT,
  registry: versions.AG_REGISTRY_PORT,
  'ingress-postgres': versions.AG_PG_INGRESS_PORT,
  'dev-idp': versions.AG_DEV_IDP_PORT,
  'approval-service': versions.AG_APPROVAL_SERVICE_PORT,
  'audit-api': versions.AG_AUDIT_API_PORT,
  'ingress-ssh': versions.AG_SSH_INGRESS_PORT,
  'target-sshd': versions.AG_TARGET_SSH_PORT,
  'ingress-http': versions.AG_HTTP_INGRESS_PORT,
};
const compose = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'), { merge: true });
const problems = [];
for (const [service, port] of Object.entries(expected)) {
  const ports = compose.services?.[service]?.ports ?? [];
  if (!ports.some((p) => String(p).startsWith(`127.0.0.1:${port}:`))) problems.push(`${service} must publish 127.0.0.1:${port}`);
}
const kafkaImage = compose.services?.kafka?.image ?? '';
if (!kafkaImage.endsWith(`:${versions.KAFKA_VERSION}`))
  problems.push(`kafka image ${kafkaImage} differs from KAFKA_VERSION ${versions.KAFKA_VERSION}`);
const registryImage = compose.services?.registry?.image ?? '';
if (!registryImage.endsWith(`:${versions.APICURIO_VERSION}`))
  problems.push(`registry image ${registryImage} differs from APICURIO_VERSION ${versions.APICURIO_VERSION}`);
// Secured as the local stack is: each service is its own Kafka principal, the broker has no
// plaintext listener, ClickHouse logins have passwords.
for (const service of [
  'ingress-postgres',
  'ingress-ssh',
  'ingress-http',
  'policy-processor',
  'projector',
  'approval-service',
  'checkpointer',
]) {
  const env = compose.services?.[service]?.environment ?? {};
  if (env.AG_KAFKA_USERNAME !== service) problems.push(`${service} must authenticate to Kafka as ${service}`);
  if (!env.AG_KAFKA_PASSWORD_FILE || !env.AG_KAFKA_CA_FILE) problems.push(`${service} needs AG_KAFKA_PASSWORD_FILE and AG_KAFKA_CA_FILE`);
}
// Scale out: processor replicas (`--scale policy-processor=N`) must not clash on a host port,
// a container name or an instance id; every ingress needs an instance name (its verdict and
// control consumer groups) and a host port of its own, and runs as the ingress principal.
const processor = compose.services?.['policy-processor'] ?? {};
for (const clash of ['ports', 'container_name'])
  if (processor[clash] !== undefined) problems.push(`policy-processor must not set ${clash} (it is scaled)`);
if (processor.environment?.AG_INSTANCE_ID !== undefined) problems.push('policy-processor must not set AG_INSTANCE_ID (it is scaled)');
const ingresses = Object.entries(compose.services ?? {}).filter(([name]) => /^ingress-postgres(-\d+)?$/.test(name));
const instanceNames = new Map();
const hostPorts = new Map();
for (const [name, service] of ingresses) {
  const env = service.environment ?? {};
  if (env.AG_KAFKA_USERNAME !== 'ingress-postgres') problems.push(`${name} must authenticate to Kafka as ingress-postgres`);
  if (!env.AG_INSTANCE_NAME) problems.push(`${name} needs an AG_INSTANCE_NAME of its own`);
  else if (instanceNames.has(env.AG_INSTANCE_NAME))
    problems.push(`${name} and ${instanceNames.get(env.AG_INSTANCE_NAME)} share AG_INSTANCE_NAME ${env.AG_INSTANCE_NAME}`);
  else instanceNames.set(env.AG_INSTANCE_NAME, name);
  for (const p of service.ports ?? []) {
    const host = String(p).split(':').slice(0, -1).join(':');
    if (!host.startsWith('127.0.0.1:')) problems.push(`${name} must publish on 127.0.0.1 only, not ${p}`);
    if (hostPorts.has(host)) problems.push(`${name} and ${hostPorts.get(host)} both publish ${host}`);
    else hostPorts.set(host, name);
  }
}
const second = compose.services?.['ingress-postgres-2'];
const secondPort = Number(versions.AG_PG_INGRESS_PORT) + 1;
if (!(second?.ports ?? []).some((p) => String(p).startsWith(`127.0.0.1:${secondPort}:`)))
  problems.push(`ingress-postgres-2 must publish 127.0.0.1:${secondPort} (the local stack's second ingress port)`);
const kafkaStart = readFileSync(join(root, 'deploy/docker/kafka-start.sh'), 'utf8');
if (!String(compose.services?.kafka?.entrypoint ?? '').includes('kafka-start.sh') || /PLAINTEXT/.test(kafkaStart))
  problems.push('kafka must start through deploy/docker/kafka-start.sh, with no PLAINTEXT listener');
if (!(compose.services?.clickhouse?.volumes ?? []).some((v) => String(v).endsWith(':/etc/clickhouse-server/users.xml:ro')))
  problems.push('clickhouse must mount the rendered users.xml (passwords)');
if (problems.length > 0) {
  console.error(`docker-compose.yml is out of step with deploy/local/versions.env:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('docker-compose.yml matches the local stack');
