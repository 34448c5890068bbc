// The gateway's side of the target's authentication exchange, as a pure state machine: each
// Authentication ('R') frame from the target moves the state and may produce the reply to
// send. No socket, no clock, no randomness (the SCRAM nonce comes in with the context).
//
//   AuthenticationOk                 R int32 8  int32 0
//   AuthenticationCleartextPassword  R int32 8  int32 3              -> PasswordMessage(password)
//   AuthenticationMD5Password        R int32 12 int32 5  byte4 salt  -> PasswordMessage(md5 hash)
//   AuthenticationSASL               R int32 n  int32 10 {String mechanism} 0 -> SASLInitialResponse
//   AuthenticationSASLContinue       R int32 n  int32 11 bytes       -> SASLResponse
//   AuthenticationSASLFinal          R int32 n  int32 12 bytes       (server signature, checked)
//
// What the target may do is bounded by the connection's `auth` allow-list. The rules:
// - the vaulted password (or its md5 form) is sent only when the list allows that method;
// - AuthenticationOk is accepted after a SCRAM exchange only once the server's signature has
//   been verified (a server that skips SASLFinal never proved it knows the password);
// - AuthenticationOk with no exchange at all (trust) only when the list allows trust;
// - any other order of requests fails the login. Every failure is AG_ERR_UPSTREAM_AUTH_FAILED
//   (malformed SCRAM payloads: AG_ERR_PROTOCOL_VIOLATION, from libs/pg-wire).
import { serialize } from 'pg-protocol';
import { GatewayError } from '@agentgate/errors';
import { decodeAuthentication, md5PasswordHash, scramClientFinal, scramClientFirst, scramVerifyServerFinal } from '@agentgate/pg-wire';
import type { UpstreamAuthMethod } from './connections.js';

/** Where the exchange stands. */
export type UpstreamAuthState =
  | { readonly step: 'start' }
  | { readonly step: 'scram-first-sent'; readonly first: ReturnType<typeof scramClientFirst>['state'] }
  | { readonly step: 'scram-final-sent'; readonly expectedServerSignature: string }
  | { readonly step: 'scram-verified' }
  | { readonly step: 'password-sent'; readonly method: 'md5' | 'password' }
  | { readonly step: 'authenticated'; readonly method: UpstreamAuthMethod };

/** The first state of a login. */
export const AUTH_START: UpstreamAuthState = Object.freeze({ step: 'start' });

export interface UpstreamAuthContext {
  /** The connection's allow-list. */
  readonly allowed: readonly UpstreamAuthMethod[];
  readonly username: string;
  readonly password: string;
  /** The SCRAM client nonce: printable ASCII without ',', random per login (the caller draws it). */
  readonly clientNonce: string;
  /** Hi(password, salt, i) for SCRAM; default computes it every time. */
  readonly saltedPassword?: (password: string, salt: Buffer, iterations: number) => Buffer;
}

export interface UpstreamAuthStep {
  readonly state: UpstreamAuthState;
  /** Bytes to send to the target, if this request needs an answer. */
  readonly reply?: Buffer;
}

function refused(message: string): GatewayError {
  return new GatewayError('AG_ERR_UPSTREAM_AUTH_FAILED', undefined, { cause: new Error(message) });
}

/** True once AuthenticationOk was accepted; before that no other startup frame may be believed. */
export function isAuthenticated(state: UpstreamAuthState): boolean {
  return state.step === 'authenticated';
}

/**
 * Answers one Authentication frame (raw bytes, type 'R'). Throws AG_ERR_UPSTREAM_AUTH_FAILED
 * when the request is not allowed or not expected here; the agent-facing message is generic,
 * the reason is in `cause` for the operator's log.
 */
export function upstreamAuthStep(state: UpstreamAuthState, frame: Buffer, ctx: UpstreamAuthContext): UpstreamAuthStep {
  const auth = decodeAuthentication(frame);
  const allows = (m: UpstreamAuthMethod): boolean => ctx.allowed.includes(m);
  switch (auth.kind) {
    case 'ok':
      if (state.step === 'scram-verified') return { state: { step: 'authenticated', method: 'scram-sha-256' } };
      if (state.step === 'password-sent') return { state: { step: 'authenticated', method: state.method } };
      if (state.step === 'start') {
        if (allows('trust')) return { state: { step: 'authenticated', method: 'trust' } };
        throw refused('the target accepted the login without authentication (trust), which the connection does not allow');
      }
      if (state.step === 'scram-first-sent' || state.step === 'scram-final-sent')
        throw refused('the target sent AuthenticationOk before a verified SASLFinal: it never proved it knows the password');
      throw refused('AuthenticationOk after authentication completed');
    case 'cleartext':
    case 'md5': {
      const method = auth.kind === 'md5' ? 'md5' : 'password';
      if (state.step !== 'start') throw refused(`the target asked for ${method} in the middle of authentication`);
      if (!allows(method)) throw refused(`the target asked for ${method} authentication, which the connection does not allow`);
      const reply =
        auth.kind === 'md5' ? serialize.password(md5PasswordHash(ctx.username, ctx.password, auth.salt)) : serialize.password(ctx.password);
      return { state: { step: 'password-sent', method }, reply };
    }
    case 'sasl': {
      if (state.step !== 'start') throw refused('the target restarted SASL in the middle of authentication');
      if (!allows('scram-sha-256')) throw refused('the target asked for SCRAM-SHA-256, which the connection does not allow');
      if (!auth.mechanisms.includes('SCRAM-SHA-256'))
        throw refused(`the target offers no supported SASL mechanism (${auth.mechanisms.join(', ')})`);
      const first = scramClientFirst(ctx.clientNonce);
      return {
        state: { step: 'scram-first-sent', first: first.state },
        reply: serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', first.message),
      };
    }
    case 'sasl-continue': {
      if (state.step !== 'scram-first-sent') throw refused('SASLContinue out of order');
      const final = scramClientFinal(
        state.first,
        auth.data.toString('utf8'),
        ctx.password,
        ctx.saltedPassword ? { saltedPassword: ctx.saltedPassword } : {},
      );
      return {
        state: { step: 'scram-final-sent', expectedServerSignature: final.expectedServerSignature },
        reply: serialize.sendSCRAMClientFinalMessage(final.message),
      };
    }
    case 'sasl-final':
      if (state.step !== 'scram-final-sent') throw refused('SASLFinal out of order');
      scramVerifyServerFinal(state.expectedServerSignature, auth.data.toString('utf8'));
      return { state: { step: 'scram-verified' } };
    case 'other':
      throw refused(`unsupported authentication request ${auth.code}`);
    default: {
      const unknown: never = auth;
      throw new GatewayError('AG_ERR_INTERNAL', `unhandled auth ${String(unknown)}`);
    }
  }
}
