import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { BlobClient, RestError } from '@azure/storage-blob';
import { SecretError } from '../src/contracts/errors';
import { scrubError, scrubSecrets } from '../src/secrets/scrub';
import pino from 'pino';
import { builtinRegistry } from '../src/builtins';
import { PluginRegistry } from '../src/contracts/registry';
import { CollectorRuntime } from '../src/runtime/runtime';

// Every worker and CLI builds a runtime, which hands its connectors' credential shapes to the scrubber.
new CollectorRuntime({ registry: builtinRegistry(), log: pino({ level: 'silent' }) });

const ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const SIG = 'Jq4Yk3%2Bq9hT0wQ%2FzL1nE7r8s%3D';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDExampleSessionToken0123456789abcdef';

/** Asserts that none of `secrets` survives and every `kept` string does. */
function check(text: string, secrets: string[], kept: string[] = [], known?: string[]): string {
  const out = scrubSecrets(text, known);
  for (const s of secrets) assert.ok(!out.includes(s), `"${s}" survived in: ${out}`);
  for (const k of kept) assert.ok(out.includes(k), `"${k}" was lost in: ${out}`);
  return out;
}

describe('scrubSecrets', () => {
  test('SAS sig in a blob URL, plain and URL-encoded inside another URL', () => {
    const url = `https://acct.blob.core.windows.net/extracts/athena_events_2024.csv.gz?sv=2022-11-02&ss=b&srt=co&sp=rwdlac&se=2025-01-01T00:00:00Z&st=2024-01-01T00:00:00Z&spr=https&sig=${SIG}`;
    const out = check(
      `RestError: PUT ${url} failed: 403 AuthenticationFailed`,
      [SIG, 'Jq4Yk3'],
      ['sv=2022-11-02', 'se=2025-01-01T00:00:00Z', 'sig=[redacted]', '403 AuthenticationFailed'],
    );
    assert.match(out, /spr=https&sig=\[redacted\] failed/);
    const wrapped = `GET https://proxy.local/fetch?target=${encodeURIComponent(url)}&x=1`;
    check(wrapped, ['Jq4Yk3'], ['sig%3D[redacted]', '&x=1', 'sv%3D2022-11-02']);
    check(
      `"url":"https://a.blob.core.windows.net/c?sp=r&Sig=abcDEF123%3D"`,
      ['abcDEF123'],
      ['"url":"https://a.blob.core.windows.net/c?sp=r&Sig=[redacted]"'],
    );
  });

  test('Azure connection strings: AccountKey, SharedAccessSignature, SharedAccessKey', () => {
    check(
      `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net`,
      [ACCOUNT_KEY, 'Eby8vdM02'],
      ['AccountName=acct', 'AccountKey=[redacted];EndpointSuffix=core.windows.net'],
    );
    check(
      `BlobEndpoint=https://acct.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=b&sig=${SIG};`,
      ['Jq4Yk3', 'ss=b'],
      ['SharedAccessSignature=[redacted];'],
    );
    check(
      'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=abc+def/ghi=',
      ['abc+def'],
      ['SharedAccessKeyName=root'],
    );
    // A bare account key (e.g. in an env dump) by its shape.
    check(`key is ${ACCOUNT_KEY}.`, [ACCOUNT_KEY], ['key is [redacted].']);
  });

  test('SigV4 presigned URLs, Authorization headers and STS tokens in AWS error texts', () => {
    const presigned =
      'https://bucket.s3.us-east-1.amazonaws.com/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20240101%2Fus-east-1%2Fs3%2Faws4_request' +
      `&X-Amz-Date=20240101T000000Z&X-Amz-Expires=900&X-Amz-Security-Token=${encodeURIComponent(SESSION_TOKEN)}&X-Amz-Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f0&X-Amz-SignedHeaders=host`;
    check(
      `fetch ${presigned} returned 403`,
      ['AKIAIOSFODNN7EXAMPLE', 'IQoJb3', '0f1e2d3c4b5a'],
      ['X-Amz-Date=20240101T000000Z', 'X-Amz-SignedHeaders=host', ' returned 403'],
    );

    const canonical =
      'GET\n/bucket/key\n\nhost:s3.amazonaws.com\nx-amz-date:20240101T000000Z\nx-amz-security-token:' +
      SESSION_TOKEN +
      '\n\nhost;x-amz-date;x-amz-security-token\nUNSIGNED-PAYLOAD';
    check(canonical, ['IQoJb3'], ['x-amz-date:20240101T000000Z', 'x-amz-security-token:[redacted]\n']);

    check(
      'request headers: Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20240101/us-east-1/athena/aws4_request, SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024\nHost: athena',
      ['fe5f80f77d5f', 'AKIAIOSFODNN7EXAMPLE'],
      ['Authorization: [redacted]\nHost: athena'],
    );
    check(
      `AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=${SECRET_KEY} AWS_SESSION_TOKEN=short-token-value`,
      [SECRET_KEY, 'short-token-value'],
      ['AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE', 'AWS_SECRET_ACCESS_KEY=[redacted]'],
    );
    check(
      `{"accessKeyId":"AKIAIOSFODNN7EXAMPLE","secretAccessKey":"${SECRET_KEY}","sessionToken":"tok-123456"}`,
      [SECRET_KEY, 'tok-123456'],
      ['"secretAccessKey":"[redacted]"', '"accessKeyId":"AKIAIOSFODNN7EXAMPLE"'],
    );
    check(
      '<Error><SignatureProvided>abcdef0123</SignatureProvided></Error>',
      ['abcdef0123'],
      ['<SignatureProvided>[redacted]</SignatureProvided>'],
    );
  });

  test('Bearer tokens, JWTs, quoted headers in inspected objects, URL passwords', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3b3JrZXIifQ.c2lnbmF0dXJlLXBhcnQ';
    check(`401 from codec server (sent Bearer ${jwt})`, ['c2lnbmF0dXJl', 'eyJzdWIi'], ['sent Bearer [redacted])']);
    check(`token=${jwt}`, ['eyJzdWIi']);
    check(
      `headers: { authorization: 'Bearer abc.def', 'x-ms-version': '2023-11-03' }`,
      ['abc.def'],
      [`authorization: '[redacted]'`, `'x-ms-version': '2023-11-03'`],
    );
    check('connect postgres://svc:Pa55w0rd!@db.internal:5432/x failed', ['Pa55w0rd'], ['postgres://svc:[redacted]@db.internal:5432/x']);
    check("password='x y z' and db_password=hunter22;", ['x y z', 'hunter22'], ["password='[redacted]'"]);
  });

  test('known resolved values, raw, URL-encoded and JSON-escaped; very short values are left alone', () => {
    const pw = 'p&ss/wo"rd\\9';
    const text = `a ${pw} b ${encodeURIComponent(pw)} c ${JSON.stringify({ pw })} d abc`;
    const out = check(text, [pw, encodeURIComponent(pw), 'wo\\"rd'], ['a [redacted] b [redacted] c', 'd abc'], [pw, 'abc']);
    assert.equal(out.split('[redacted]').length - 1, 3);
  });

  test('leaves ordinary diagnostics readable', () => {
    for (const t of [
      'collectors[0].source.password: holds a plain value; secrets must be references such as ${PASSWORD}',
      'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      'window [2024-01-01T00:00:00Z, 2024-01-01T06:00:00Z) extracted 120 rows; sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
      'tokenCount=5 maxResults=50 NextPageSize=3',
    ]) {
      assert.equal(scrubSecrets(t), t);
    }
  });
});

describe('scrubError', () => {
  test('keeps class, name, retryability and details shape; scrubs message, stack, details and causes', () => {
    const cause = new Error(`inner AccountKey=${ACCOUNT_KEY};`);
    const err = new SecretError(
      `landing.sas: could not use https://a/c?sig=${SIG} (pw hunter2-xyz)`,
      { url: `https://a/c?sig=${SIG}`, token: 'tttt' },
      { cause },
    );
    const out = scrubError(err, ['hunter2-xyz']);
    assert.ok(out instanceof SecretError);
    assert.equal(out.name, 'SecretError');
    assert.equal(out.nonRetryable, true);
    for (const text of [out.message, out.stack!, JSON.stringify(out.details), (out.cause as Error).message, (out.cause as Error).stack!]) {
      assert.ok(!text.includes('Jq4Yk3') && !text.includes('hunter2-xyz') && !text.includes('Eby8vd') && !text.includes('tttt'), text);
    }
    assert.match(out.stack!, /^SecretError: landing\.sas: could not use https:\/\/a\/c\?sig=\[redacted\] \(pw \[redacted\]\)/);
    assert.deepEqual(out.details, { url: 'https://a/c?sig=[redacted]', token: '[redacted]' });
    // The original is untouched.
    assert.match(err.message, /hunter2-xyz/);
  });

  test('plain Errors keep an own name; non-Errors become Errors; cycles end', () => {
    const e = new Error('Bearer abcdefgh');
    e.name = 'FetchError';
    const out = scrubError(e);
    assert.equal(out.name, 'FetchError');
    assert.equal(out.message, 'Bearer [redacted]');
    assert.equal(scrubError('AccountKey=abcd;').message, 'AccountKey=[redacted];');
    assert.equal(scrubError({ message: 'password=xyz1' }).message, 'password=[redacted]');
    const a = new Error('a sig=zzzz');
    const b = new Error('b', { cause: a });
    (a as Error & { cause: unknown }).cause = b;
    assert.equal(scrubError(b).message, 'b');
  });

  describe('errors thrown by the real SDKs', () => {
    let server: Server;
    let base: string;
    before(async () => {
      // Answers as S3 and Blob Storage do when a signature is wrong.
      server = createServer((req, res) => {
        if (req.url!.startsWith('/acct/')) {
          res.writeHead(403, { 'content-type': 'application/xml', 'x-ms-error-code': 'AuthenticationFailed', 'x-ms-request-id': 'r-1' });
          res.end(
            '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to authenticate the request. ' +
              'Make sure the value of Authorization header is formed correctly including the signature.\nRequestId:r-1\nTime:2024-01-01T00:00:00.0000000Z</Message>' +
              '<AuthenticationErrorDetail>Signature did not match. String to sign used was r\n\n2025-01-01T00:00:00Z\n/blob/acct/c/b</AuthenticationErrorDetail></Error>',
          );
          return;
        }
        res.writeHead(403, { 'content-type': 'application/xml', 'x-amz-request-id': 'r-2' });
        res.end(
          '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided. Check your key and signing method.</Message>' +
            '<AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n20240101T000000Z\n20240101/us-east-1/s3/aws4_request\nabc</StringToSign>' +
            '<SignatureProvided>9e9b8c7d6a5f4e3d2c1b0a99887766554433221100ffeeddccbbaa0099887766</SignatureProvided>' +
            `<CanonicalRequest>GET\n/b/k\nx-id=GetObject\nhost:127.0.0.1\nx-amz-security-token:${SESSION_TOKEN}\n\nhost;x-amz-security-token\nUNSIGNED-PAYLOAD</CanonicalRequest><RequestId>r-2</RequestId></Error>`,
        );
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    test('@aws-sdk/client-s3 SignatureDoesNotMatch: the echoed token and signature are removed, the rest kept', async () => {
      const s3 = new S3Client({
        region: 'us-east-1',
        endpoint: base,
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: SECRET_KEY, sessionToken: SESSION_TOKEN },
      });
      const err = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' })).then(
        () => assert.fail('expected 403'),
        (e: unknown) => e,
      );
      s3.destroy();
      assert.ok(err instanceof S3ServiceException);
      assert.ok(JSON.stringify(err).includes('IQoJb3'), 'the raw SDK error does carry the token');
      const out = scrubError(err, [SECRET_KEY, SESSION_TOKEN]);
      assert.ok(out instanceof S3ServiceException);
      assert.equal(out.name, 'SignatureDoesNotMatch');
      const all = JSON.stringify(out) + out.stack;
      assert.ok(!all.includes('IQoJb3') && !all.includes('9e9b8c7d6a5f'), all);
      const fields = out as unknown as Record<string, unknown>;
      assert.equal(fields.SignatureProvided, '[redacted]');
      assert.match(String(fields.CanonicalRequest), /x-amz-security-token:\[redacted\]/);
      assert.equal((fields.$metadata as { httpStatusCode: number }).httpStatusCode, 403);
      assert.equal(fields.RequestId, 'r-2');
    });

    test('@azure/storage-blob RestError on a SAS URL: class and status kept, the SAS in a wrapping message removed', async () => {
      const url = `${base}/acct/c/b?sv=2022-11-02&sp=r&se=2025-01-01T00%3A00%3A00Z&sr=b&sig=${SIG}`;
      const err = await new BlobClient(url, undefined, { retryOptions: { maxTries: 1 } }).download().then(
        () => assert.fail('expected 403'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof RestError);
      const wrapped = new Error(`download of ${url} failed: ${err.message}`, { cause: err });
      const out = scrubError(wrapped);
      const cause = out.cause as RestError;
      assert.ok(cause instanceof RestError);
      assert.equal(cause.statusCode, 403);
      assert.equal(cause.code, 'AuthenticationFailed');
      assert.ok(!out.message.includes('Jq4Yk3') && !out.stack!.includes('Jq4Yk3'));
      assert.match(out.message, /sig=\[redacted\] failed: Server failed to authenticate/);
    });
  });
});

describe('vendor credential shapes', () => {
  test('ship with the connectors and reach the scrubber through the registry', () => {
    const registry = builtinRegistry();
    // Azure's and AWS's shapes, each once although athena and s3 both bring AWS's.
    assert.equal(new Set(registry.secretPatterns).size, registry.secretPatterns.length);
    assert.ok(
      registry.secretPatterns.some((p) => p.pattern.source.includes('AccountKey')),
      'Azure connection strings',
    );
    assert.ok(
      registry.secretPatterns.some((p) => p.pattern.source.includes('X-Amz-Signature')),
      'SigV4 signatures',
    );
    const custom = new PluginRegistry().addConnector({
      system: 'acme',
      secretPatterns: [{ pattern: /(acme-key:)[a-z0-9]{12}/g, replacement: '$1[redacted]' }],
    });
    assert.equal(
      scrubSecrets('failed with acme-key:abcdef012345'),
      'failed with acme-key:abcdef012345',
      'unknown before a runtime registers it',
    );
    new CollectorRuntime({ registry: custom, log: pino({ level: 'silent' }) });
    assert.equal(scrubSecrets('failed with acme-key:abcdef012345'), 'failed with acme-key:[redacted]');
  });
});
