// `agentgate policy publish <dir> [--shadow]`: an administrator publishes a tested policy as a
// versioned, content-hashed record on the compacted policies topic; every policy processor
// decides with it from then on, without a restart (a shadow policy only records its verdicts).
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { policyKey, type PolicyPublished } from '@agentgate/events';
import type { VerifiedIdentity } from '@agentgate/identity';
import { publishPolicy } from './backends.js';
import { requireAdmin, verifiedCaller } from './caller.js';
import type { CliConfig } from './config.js';
import { EXIT } from './exit-codes.js';
import { printJson, type CliIo } from './output.js';
import { loadCandidate, type CandidatePolicy } from './policy-toolkit.js';

export interface PublishOptions {
  dir: string;
  shadow: boolean;
  tokenFile?: string | undefined;
  json: boolean;
}

/** The record to publish; ids and time come in, so this is pure. */
export function publicationOf(
  candidate: Pick<CandidatePolicy, 'name' | 'version' | 'contentHash' | 'files'>,
  admin: Pick<VerifiedIdentity, 'subject' | 'issuer'>,
  shadow: boolean,
  ids: { eventId: string; timeUs: number; producer: string },
): PolicyPublished {
  return {
    eventId: ids.eventId,
    policyName: candidate.name,
    version: candidate.version,
    contentHash: candidate.contentHash,
    files: candidate.files.map((f) => ({ name: f.name, text: f.text })),
    shadow,
    publishedBy: admin.subject,
    publisherIssuer: admin.issuer,
    publishedAtUs: ids.timeUs,
    producer: ids.producer,
  };
}

export async function policyPublish(config: Readonly<CliConfig>, options: PublishOptions, io: CliIo): Promise<number> {
  // Who asks comes first: nothing is compiled for, or published by, an unauthorised caller.
  const admin = await verifiedCaller(config, options.tokenFile, 'policy publish');
  requireAdmin(admin, config.adminGroups, 'policy publish');
  const candidate = await loadCandidate(options.dir);
  if (candidate.failures.length > 0) {
    const lines = candidate.failures.map((f) => `FAIL  ${f.name}: ${f.message}`);
    if (options.json) {
      printJson(io, { published: false, version: candidate.version, tests: candidate.testCount, failures: candidate.failures });
    }
    io.err(
      `${lines.join('\n')}\n${candidate.failures.length} of ${candidate.testCount} policy tests failed; ${candidate.version} was not published\n`,
    );
    return EXIT.failure;
  }
  const publication = publicationOf(candidate, admin, options.shadow, {
    eventId: randomUUID(),
    timeUs: Date.now() * 1000,
    producer: `cli/${hostname()}/${process.pid}`,
  });
  await publishPolicy(config, policyKey(publication.policyName, publication.shadow), publication);
  const role = options.shadow ? 'shadow (verdicts recorded, never enforced)' : 'live';
  if (options.json) {
    printJson(io, {
      published: true,
      policy: publication.policyName,
      version: publication.version,
      content_hash: publication.contentHash,
      shadow: publication.shadow,
      published_by: publication.publishedBy,
      tests: candidate.testCount,
    });
  } else {
    io.out(`published ${publication.version} as ${role}, by ${admin.subject}; ${candidate.testCount} policy tests passed\n`);
  }
  return EXIT.ok;
}
