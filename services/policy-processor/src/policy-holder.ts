// The policies a processor decides with: the live one and, when published, a shadow one.
// Each publication read from the policies topic is compiled and checked against the hash it
// claims; one that fails is logged and ignored, and the previous policy stays. A swap replaces
// one reference, so every request is decided wholly by one version or the next.
import type { PolicyPublished } from '@agentgate/events';
import { toGatewayError } from '@agentgate/errors';
import type { LivePolicy, PolicyEngine } from './policy-engine.js';

export type PublicationOutcome =
  | { applied: true; role: 'live' | 'shadow'; version: string }
  | { applied: false; version: string; code: string; reason: string };

export interface PolicyHolder {
  readonly live: LivePolicy;
  readonly shadow: LivePolicy | undefined;
  /** Compiles and installs a publication; never throws. */
  apply(publication: PolicyPublished): PublicationOutcome;
  /** Ends the shadow trial of `policyName` (a tombstone on its shadow key); true if one ran. */
  endShadow(policyName: string): boolean;
  readonly rejected: number;
}

export function policyHolder(engine: PolicyEngine): PolicyHolder {
  let live = engine.builtIn();
  let shadow: LivePolicy | undefined;
  let shadowName: string | undefined;
  let rejected = 0;
  return {
    get live() {
      return live;
    },
    get shadow() {
      return shadow;
    },
    get rejected() {
      return rejected;
    },
    apply(publication) {
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
      if (publication.shadow) {
        shadow = compiled.policy;
        shadowName = publication.policyName;
        return { applied: true, role: 'shadow', version: publication.version };
      }
      live = compiled.policy;
      // A version published live ends its own trial: it no longer runs in shadow beside itself.
      if (shadow?.version === compiled.policy.version) shadow = shadowName = undefined;
      return { applied: true, role: 'live', version: publication.version };
    },
    endShadow(policyName) {
      if (shadow === undefined || shadowName !== policyName) return false;
      shadow = shadowName = undefined;
      return true;
    },
  };
}
