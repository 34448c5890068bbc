// `agentgate psql <connection> --as <identity>`: psql through the local gateway with a fresh
// token from the development IdP. The token travels in PGPASSWORD, never on a command line
// (where `ps` would show it), and TLS is verified against the local CA.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { GatewayError } from '@agentgate/errors';
import type { CliConfig } from './config.js';
import { loadCatalog } from './connections.js';
import { requestDevToken } from './dev-idp-client.js';

export interface PsqlOptions {
  as: string;
  /** psql's environment (PATH, PG* settings); PGPASSWORD is added. */
  env: Readonly<Record<string, string | undefined>>;
}

/** libpq conninfo value quoting: single quotes, with \ and ' escaped. */
function conninfoValue(value: string): string {
  return /^[A-Za-z0-9_./:@-]+$/.test(value) ? value : `'${value.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

/** The conninfo string psql gets. Pure; holds no secret. */
export function conninfo(
  config: Pick<CliConfig, 'ingressHost' | 'ingressPort' | 'tlsCaFile'>,
  connection: string,
  identity: string,
): string {
  return [
    ['host', config.ingressHost],
    ['port', String(config.ingressPort)],
    ['dbname', connection],
    ['user', identity],
    ['sslmode', 'verify-full'],
    ['sslrootcert', config.tlsCaFile],
  ]
    .map(([k, v]) => `${k}=${conninfoValue(v as string)}`)
    .join(' ');
}

/** Runs psql with inherited stdio and returns its exit code. */
export async function psql(
  config: Readonly<CliConfig>,
  connection: string,
  extraArgs: readonly string[],
  options: PsqlOptions,
): Promise<number> {
  // Refuse a typo here, with the list, rather than as a FATAL from the gateway.
  const names = (await loadCatalog(config.connectionsFile)).map((c) => c.name);
  if (!names.includes(connection)) {
    throw new GatewayError(
      'AG_ERR_CONFIG_INVALID',
      `no connection named ${JSON.stringify(connection)} in ${config.connectionsFile}; known: ${names.join(', ')}`,
    );
  }
  const { accessToken } = await requestDevToken(
    { issuer: config.devIdpIssuer, clientsFile: config.devIdpClientsFile },
    { name: options.as },
  );
  const child = spawn('psql', [conninfo(config, connection, options.as), ...extraArgs], {
    stdio: 'inherit',
    env: { ...options.env, PGPASSWORD: accessToken },
  });
  // Ctrl-C belongs to psql (it cancels the running query); the CLI waits for psql to decide.
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on('error', (err: NodeJS.ErrnoException) => {
        reject(
          err.code === 'ENOENT'
            ? new GatewayError(
                'AG_ERR_CONFIG_INVALID',
                'psql is not installed or not on PATH (Debian/Ubuntu: apt-get install postgresql-client)',
              )
            : new GatewayError('AG_ERR_INTERNAL', `psql could not be started: ${err.message}`, { cause: err }),
        );
      });
      // A signal death is reported the shell's way, 128 + the signal number.
      child.on('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  } finally {
    process.off('SIGINT', ignore);
  }
}
