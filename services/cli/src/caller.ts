// Who is calling: the access token from AGENTGATE_TOKEN (or a file), verified with the same
// trusted issuers as the ingress (deploy/identity.json), and what that identity may do here.
import { readFile } from 'node:fs/promises';
import type { Actor } from '@agentgate/events';
import { GatewayError, isGatewayError } from '@agentgate/errors';
import { auditActor, createTokenVerifier, parseTrustFile, type VerifiedIdentity } from '@agentgate/identity';
import { reasonOf } from './backends.js';
import type { CliConfig } from './config.js';

/** The raw token: from `tokenFile` when given, else AGENTGATE_TOKEN; null when neither. */
export async function callerToken(config: Readonly<CliConfig>, tokenFile: string | undefined): Promise<string | null> {
  if (tokenFile === undefined) return config.token;
  let text: string;
  try {
    text = await readFile(tokenFile, 'utf8');
  } catch (cause) {
    throw new GatewayError(
      'AG_ERR_CONFIG_INVALID',
      `cannot read the token file ${tokenFile} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause },
    );
  }
  const token = text.trim();
  if (token === '') throw new GatewayError('AG_ERR_AUTH_REQUIRED', `the token file ${tokenFile} is empty`);
  return token;
}

/** Verifies a token against the trust file; throws AG_ERR_TOKEN_* or AG_ERR_IDP_UNAVAILABLE. */
export async function verifyToken(config: Readonly<CliConfig>, token: string): Promise<VerifiedIdentity> {
  let text: string;
  try {
    text = await readFile(config.identityFile, 'utf8');
  } catch (cause) {
    throw new GatewayError('AG_ERR_CONFIG_INVALID', `cannot read the identity file ${config.identityFile} (set AG_IDENTITY_FILE)`, {
      cause,
    });
  }
  const verifier = createTokenVerifier(parseTrustFile(text, config.identityFile));
  try {
    return await verifier.verify(token);
  } catch (error) {
    // Say which component is down, not only that keys are missing.
    if (isGatewayError(error, 'AG_ERR_IDP_UNAVAILABLE')) {
      throw new GatewayError(
        'AG_ERR_IDP_UNAVAILABLE',
        `the identity provider is unreachable, so the token cannot be checked: ${error.message} (${reasonOf(error.cause)})`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** The verified caller; AG_ERR_AUTH_REQUIRED when there is no token at all. */
export async function verifiedCaller(
  config: Readonly<CliConfig>,
  tokenFile: string | undefined,
  purpose: string,
): Promise<VerifiedIdentity> {
  const token = await callerToken(config, tokenFile);
  if (token === null) {
    throw new GatewayError('AG_ERR_AUTH_REQUIRED', `${purpose} needs an access token in AGENTGATE_TOKEN (or --token-file)`);
  }
  return verifyToken(config, token);
}

/** The admin groups the identity belongs to (empty: not an admin). */
export function adminGroupsOf(identity: Pick<VerifiedIdentity, 'groups'>, adminGroups: readonly string[]): string[] {
  return identity.groups.filter((g) => adminGroups.includes(g));
}

/** Throws AG_ERR_POLICY_DENIED unless the identity is in one of the admin groups. */
export function requireAdmin(identity: Pick<VerifiedIdentity, 'subject' | 'groups'>, adminGroups: readonly string[], action: string): void {
  if (adminGroupsOf(identity, adminGroups).length > 0) return;
  const groups = identity.groups.length > 0 ? identity.groups.join(', ') : 'none';
  throw new GatewayError(
    'AG_ERR_POLICY_DENIED',
    `${action} is for administrators: ${identity.subject} is not in ${adminGroups.length === 1 ? 'the group' : 'any of the groups'} ${adminGroups.join(', ')} (its groups: ${groups})`,
  );
}

/** The audit actor for a verified identity, recorded exactly as the ingress records agents. */
export function actorOf(identity: VerifiedIdentity): Actor {
  return auditActor(identity);
}
