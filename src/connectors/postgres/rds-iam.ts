/**
 * RDS IAM database authentication: instead of a stored password, each new session sends a token signed
 * with the worker's AWS credentials (SigV4 presigned `connect` request for service `rds-db`), valid 15
 * minutes. Signing is local; only the credentials may need a call (the default chain, or AssumeRole when
 * `iam.roleArn` is set). The token is a credential: it goes to the server and nowhere else.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, Checksum, SourceData } from '@smithy/types';
import { awsCredentials } from '../aws/credentials';
import { regionOfRdsHost } from './config';

/** What Athena's and RDS's signers accept: SHA-256, or HMAC-SHA-256 when given a key. */
class Sha256 implements Checksum {
  private h: Hash | Hmac;
  constructor(private readonly key?: SourceData) {
    this.h = this.fresh();
  }
  private fresh(): Hash | Hmac {
    return this.key === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.key));
  }
  update(data: Uint8Array): void {
    this.h.update(data);
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.h.digest()));
  }
  reset(): void {
    this.h = this.fresh();
  }
}

function bytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

/** Tokens live 15 minutes (the most RDS accepts); a session only needs one at connect time. */
export const TOKEN_LIFETIME_SECONDS = 900;

export interface RdsIamFields {
  region?: string | undefined;
  roleArn?: string | undefined;
  externalId?: string | undefined;
}

export interface RdsTokenSource {
  /** A fresh token for one new session. */
  token(): Promise<string>;
}

/**
 * Tokens for `user` at `host:port`. `now` is for tests, which sign at a known instant to check the
 * token the server receives.
 */
export function rdsTokenSource(
  target: { host: string; port: number; user: string },
  iam: RdsIamFields,
  now: () => Date = () => new Date(),
): RdsTokenSource {
  const region = iam.region ?? regionOfRdsHost(target.host);
  if (!region) throw new Error('iam.region is required: the host is not an RDS endpoint name');
  const assumed = awsCredentials(
    { region, roleArn: iam.roleArn, externalId: iam.externalId },
    { sessionName: 'temporal-collectors-postgres' },
  );
  const credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider = assumed ?? fromNodeProviderChain();
  const signer = new SignatureV4({ service: 'rds-db', region, credentials, sha256: Sha256, applyChecksum: false });
  const authority = `${target.host}:${target.port}`;
  return {
    async token() {
      const signed = await signer.presign(
        {
          method: 'GET',
          protocol: 'https:',
          hostname: target.host,
          port: target.port,
          path: '/',
          query: { Action: 'connect', DBUser: target.user },
          headers: { host: authority },
        },
        { expiresIn: TOKEN_LIFETIME_SECONDS, signingDate: now() },
      );
      const query = Object.entries(signed.query ?? {})
        .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${encodeURIComponent(k)}=${encodeURIComponent(x ?? '')}`))
        .join('&');
      // The token is the presigned URL without its scheme.
      return `${authority}/?${query}`;
    },
  };
}
