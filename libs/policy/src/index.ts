export {
  decide,
  VERDICT_PRODUCER,
  type PolicyCommand,
  type DecideRequest,
  type PolicyRule,
  type PolicyState,
  type ClassifiedRequest,
} from './decider.js';
export { minimalPolicy } from './minimal-policy.js';
