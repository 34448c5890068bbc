// The policies a processor decides with: the live one and, during a trial, a shadow one. Each
// publication read from the policies topic is compiled and checked against the hash it claims;
// one that fails is logged and ignored, and what its key held before stays. A swap replaces one
// reference, so every request is decided wholly by one version or the next.
//
// The state is a function of the compacted topic, so a restart (which reads only the latest
// record per key) ends where a long-running instance is: the live policy is the newest live
// publication whose key has not been deleted (a tombstone), else the built-in policy; the
// shadow policy likewise among shadow keys.
import type { PolicyPublished } from '@agentgate/events';
import { toGatewayError } from '@agentgate/errors';
import type { LivePolicy, PolicyEngine } from './policy-engine.js';

export type PublicationOutcome =
  | { applied: true; role: 'live' | 'shadow'; version: string }
  | { applied: false; version: string; code: string; reason: string };

export interface PolicyHolder {
  readonly live: LivePolicy;
  readonly shadow: LivePolicy | undefined;
  /** Compiles and installs a publication read at `offset` (one partition: offsets order them); never throws. */
  apply(publication: PolicyPublished, offset: bigint): PublicationOutcome;
  /** A tombstone: the policy under `name` is withdrawn (live, or its shadow trial); true if it was installed. */
  withdraw(name: string, shadow: boolean): boolean;
  readonly rejected: number;
}

interface Installed {
  policy: LivePolicy;
  offset: bigint;
}

/** The newest entry by offset. */
function newest(entries: ReadonlyMap<string, Installed>): LivePolicy | undefined {
  let best: Installed | undefined;
  for (const e of entries.values()) if (!best || e.offset > best.offset) best = e;
  return best?.policy;
}

export function policyHolder(engine: PolicyEngine): PolicyHolder {
  const builtIn = engine.builtIn();
  const live = new Map<string, Installed>();
  const shadows = new Map<string, Installed>();
  let current = builtIn;
  let currentShadow: LivePolicy | undefined;
  let rejected = 0;
  const recompute = (): void => {
    current = newest(live) ?? builtIn;
    currentShadow = newest(shadows);
  };
  return {
    get live() {
      return current;
    },
    get shadow() {
      return currentShadow;
    },
    get rejected() {
      return rejected;
    },
    apply(publication, offset) {
      const refuse = (code: string, reason: string): PublicationOutcome => {
        rejected++;
        return { applied: false, version: publication.version, code, reason };
      };
      let compiled: ReturnType<PolicyEngine['compile']>;
      try {
        compiled = engine.compile(publication.files, publication.policyName);
      } catch (err) {
        const e = toGatewayError(err);
        return refuse(e.code, e.message);
      }
      // What was published must be what compiles here: same name, same content.
      if (compiled.contentHash !== publication.contentHash) {
        return refuse('AG_ERR_EVENT_INVALID', 'the files do not hash to the published contentHash');
      }
      if (compiled.policyName !== publication.policyName) {
        return refuse('AG_ERR_EVENT_INVALID', `the files name policy ${compiled.policyName}, the publication ${publication.policyName}`);
      }
      if (compiled.policy.version !== publication.version) {
        return refuse('AG_ERR_EVENT_INVALID', `the files compile to version ${compiled.policy.version}, not ${publication.version}`);
      }
      const installed = { policy: compiled.policy, offset };
      if (publication.shadow) {
        shadows.set(publication.policyName, installed);
      } else {
        live.set(publication.policyName, installed);
        // A version published live ends its own trial: it no longer runs in shadow beside itself.
        if (shadows.get(publication.policyName)?.policy.version === publication.version) shadows.delete(publication.policyName);
      }
      recompute();
      return { applied: true, role: publication.shadow ? 'shadow' : 'live', version: publication.version };
    },
    withdraw(name, shadow) {
      const deleted = (shadow ? shadows : live).delete(name);
      recompute();
      return deleted;
    },
  };
}
