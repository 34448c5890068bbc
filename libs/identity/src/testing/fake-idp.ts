// A tiny OIDC identity provider for tests: discovery + JWKS over node:http on 127.0.0.1, port 0.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTHeaderParameters, type JWTPayload } from 'jose';
import type { TokenAlgorithm } from '../types.js';

/** A signing key pair with its published JWK. */
export interface SigningKey {
  readonly kid: string;
  readonly alg: TokenAlgorithm;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** Generates a key pair for `alg`; `publishAlg: false` leaves `alg` out of the JWK, as some IdPs do. */
export async function makeKey(kid: string, alg: TokenAlgorithm, publishAlg = true): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg === 'EdDSA' ? 'Ed25519' : alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const publicJwk: JWK = { ...jwk, kid, use: 'sig', ...(publishAlg ? { alg } : {}) };
  return { kid, alg, privateKey, publicKey, publicJwk };
}

/** Signs `claims` with `key`; header defaults to `{ alg, kid, typ: 'at+jwt' }`, a header field set to undefined is left out. */
export function sign(key: SigningKey, claims: JWTPayload, header: Partial<JWTHeaderParameters> = {}): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }).sign(key.privateKey);
}

/** Hand-built compact JWS from raw JSON parts (for alg none and friends). */
export function rawToken(header: unknown, payload: unknown, signature = ''): string {
  const part = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part(header)}.${part(payload)}.${signature}`;
}

/** Behaviour switches of a running fake IdP. */
export interface FakeIdpOptions {
  /** Path under the origin, e.g. `/realms/demo` (Keycloak style). */
  basePath?: string;
  /** Never answer (to exercise the fetch timeout). */
  hang?: boolean;
}

/** A running fake IdP; mutate `keys`, `status` or `discoveryIssuer` between requests. */
export class FakeIdp {
  readonly issuer: string;
  readonly jwksUri: string;
  /** Published JWKS members, in order. */
  keys: JWK[] = [];
  /** HTTP status for every answer (set 500 to simulate a broken IdP). */
  status = 200;
  /** Issuer named by the discovery document (default: the real one). */
  discoveryIssuer: string;
  readonly requests = { discovery: 0, jwks: 0 };
  readonly #server: ReturnType<typeof createServer>;

  private constructor(server: ReturnType<typeof createServer>, origin: string, basePath: string) {
    this.#server = server;
    this.issuer = `${origin}${basePath}`;
    this.jwksUri = `${this.issuer}/protocol/openid-connect/certs`;
    this.discoveryIssuer = this.issuer;
  }

  static async start(options: FakeIdpOptions = {}): Promise<FakeIdp> {
    const basePath = options.basePath ?? '';
    let idp: FakeIdp | undefined;
    const server = createServer((req, res) => {
      if (options.hang) return; // keep the socket open and silent
      idp?.handle(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    idp = new FakeIdp(server, `http://127.0.0.1:${port}`, basePath);
    return idp;
  }

  /** Replaces the published keys. */
  publish(...keys: SigningKey[]): void {
    this.keys = keys.map((k) => k.publicJwk);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.issuer);
    let body: unknown;
    if (url.href === `${this.issuer}/.well-known/openid-configuration`) {
      this.requests.discovery++;
      body = { issuer: this.discoveryIssuer, jwks_uri: this.jwksUri };
    } else if (url.href === this.jwksUri) {
      this.requests.jwks++;
      body = { keys: this.keys };
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(this.status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  /** Stops listening and drops kept-alive sockets, so later requests are refused. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}

/** A settable clock to inject as `now`. */
export class TestClock {
  ms: number;
  constructor(start = Date.UTC(2030, 0, 1)) {
    this.ms = start;
  }
  readonly now = (): Date => new Date(this.ms);
  /** Seconds since the epoch, for JWT claims. */
  get sec(): number {
    return Math.floor(this.ms / 1000);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}
