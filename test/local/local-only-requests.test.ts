import { DescribeDBInstancesCommand, ModifyDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import { buildProgram } from '../../cli/program';
import { LocalSecretsManager, localClientConfig } from '../../local';
import { LocalRds, localRdsClientConfig } from '../../local/rds';
import { sigV4Headers, stubApply } from '../local-rds/rds-test-kit';
import { fakeSigV4Headers, rawSocketExchange, token } from './local-test-kit';

/*
 * DNS-rebinding and cross-site protection of every server `rotor local` runs
 * (local/http-server-base.ts, requestRefusal): real HTTP requests as a browser
 * would send them (a foreign Host, an Origin, fetch metadata, a text/plain or
 * form POST) are each refused with a 4xx (JSON; the RDS endpoint's in Query
 * XML) and change nothing; the real SDKs still work.
 */

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP/1.1 request with exactly these headers (Host included: fetch cannot set it). */
function raw(endpoint: string, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: Number(url.port),
        method: opts.method ?? 'POST',
        path: opts.path ?? '/',
        headers: opts.headers,
        setHost: false,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

function refusedAs(r: RawResponse, status: number, code: string): void {
  expect({ status: r.status, type: r.headers['content-type'], errorType: r.headers['x-amzn-errortype'] }).toEqual({ status, type: 'application/json', errorType: code });
  const json = JSON.parse(r.body) as { __type: string; message: string };
  expect(json.__type).toBe(code);
  expect(json.message.length).toBeGreaterThan(20);
}

/** The RDS endpoint refuses in its protocol's XML, which @aws-sdk/client-rds can read. */
function refusedAsXml(r: RawResponse, status: number, code: string): void {
  expect({ status: r.status, type: r.headers['content-type'] }).toEqual({ status, type: 'text/xml' });
  expect(r.body).toContain(`<Code>${code}</Code>`);
  expect(/<Message>([^<]*)<\/Message>/.exec(r.body)?.[1]?.length).toBeGreaterThan(20);
}

const FAULT_BODY = JSON.stringify({ inject: { op: 'GetSecretValue', error: 'InternalServiceError' }, rateLimits: { '*': 1 } });

describe('the Secrets Manager endpoint and its control routes', () => {
  let local: LocalSecretsManager;
  let sm: SecretsManagerClient;
  let hostPort: string;

  beforeAll(async () => {
    local = await LocalSecretsManager.start({ port: 0 });
    sm = new SecretsManagerClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 1 });
    hostPort = new URL(local.endpoint).host;
  });
  afterAll(async () => {
    sm.destroy();
    await local.stop();
  });

  /** What a refused request could have changed: faults, rate limits, secrets. */
  async function state(): Promise<unknown> {
    const get = async (p: string) => JSON.parse((await raw(local.endpoint, { method: 'GET', path: p, headers: { Host: hostPort } })).body) as unknown;
    return { faults: await get('/_rotor/faults'), health: await get('/_rotor/health') };
  }

  /** Every request a page could aim at the endpoint, with `headers` on top of valid ones. */
  function attempts(headers: Record<string, string>): { what: string; send: () => Promise<RawResponse> }[] {
    return [
      {
        what: 'POST /_rotor/faults (JSON)',
        send: () => raw(local.endpoint, { path: '/_rotor/faults', headers: { Host: hostPort, 'Content-Type': 'application/json', ...headers }, body: FAULT_BODY }),
      },
      { what: 'DELETE /_rotor/faults', send: () => raw(local.endpoint, { method: 'DELETE', path: '/_rotor/faults', headers: { Host: hostPort, ...headers } }) },
      { what: 'GET /_rotor/events', send: () => raw(local.endpoint, { method: 'GET', path: '/_rotor/events', headers: { Host: hostPort, ...headers } }) },
      {
        what: 'CreateSecret (signed)',
        send: () =>
          raw(local.endpoint, {
            headers: {
              Host: hostPort,
              'Content-Type': 'application/x-amz-json-1.1',
              'X-Amz-Target': 'secretsmanager.CreateSecret',
              ...fakeSigV4Headers(),
              ...headers,
            },
            body: JSON.stringify({ Name: 'planted', SecretString: 'x', ClientRequestToken: token() }),
          }),
      },
    ];
  }

  test('the listen address is loopback by default, in the API and in `rotor local`', async () => {
    expect(new URL(local.endpoint).hostname).toBe('127.0.0.1');
    const localCmd = buildProgram().commands.find((c) => c.name() === 'local')!;
    expect(localCmd.options.find((o) => o.long === '--host')!.defaultValue).toBe('127.0.0.1');
    // Not reachable on this machine's other addresses.
    const external = Object.values(os.networkInterfaces()).flat().find((i) => i && !i.internal && i.family === 'IPv4');
    if (external) {
      const port = Number(new URL(local.endpoint).port);
      const outcome = await new Promise<string>((resolve) => {
        const s = net.connect(port, external.address, () => {
          s.destroy();
          resolve('connected');
        });
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      });
      expect(outcome).toBe('ECONNREFUSED');
    }
  });

  test.each(['127.0.0.1', 'localhost', '[::1]', 'LOCALHOST', 'LocalHost:4566', '127.0.0.1:1', '[::1]:65535'])('Host %s is served', async (host) => {
    const r = await raw(local.endpoint, { method: 'GET', path: '/_rotor/health', headers: { Host: host } });
    expect(r.status).toBe(200);
  });

  test.each([
    'attacker.example',
    'attacker.example:4566',
    'localhost.attacker.example',
    '127.0.0.1.nip.io',
    'localhost.',
    '127.0.0.2',
    '0.0.0.0',
    '[::2]',
    'localhost:port',
    '',
  ])('Host %j (DNS rebinding) is refused on every route, with nothing changed', async (host) => {
    const before = await state();
    for (const a of attempts({ Host: host })) refusedAs(await a.send(), 403, 'InvalidHostHeader');
    expect(await state()).toEqual(before);
  });

  test('a request without Host is refused', async () => {
    // HTTP/1.0 lets a client leave Host out.
    const reply = await rawSocketExchange(local.endpoint, 'GET /_rotor/health HTTP/1.0\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 403/);
    expect(reply).toContain('"__type":"InvalidHostHeader"');
  });

  test.each(['https://attacker.example', 'null', 'http://127.0.0.1:4566', 'http://localhost'])(
    'an Origin header (%s) is refused on every route, with nothing changed',
    async (origin) => {
      const before = await state();
      for (const a of attempts({ Origin: origin })) refusedAs(await a.send(), 403, 'CrossOriginRequestRefused');
      expect(await state()).toEqual(before);
    },
  );

  test.each([
    ['Sec-Fetch-Site', 'cross-site'],
    ['Sec-Fetch-Site', 'same-origin'],
    ['Sec-Fetch-Site', 'none'],
    ['Sec-Fetch-Mode', 'no-cors'],
    ['Sec-Fetch-Mode', 'navigate'],
    ['Sec-Fetch-Dest', 'image'],
    ['Sec-Fetch-User', '?1'],
  ])('browser fetch metadata %s: %s is refused on every route, with nothing changed', async (name, value) => {
    const before = await state();
    for (const a of attempts({ [name]: value })) refusedAs(await a.send(), 403, 'BrowserRequestRefused');
    expect(await state()).toEqual(before);
  });

  test.each([
    ['a text/plain', 'text/plain;charset=UTF-8'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['a multipart', 'multipart/form-data; boundary=x'],
  ])('%s POST to a control route (what a page can send without a preflight) is refused, with nothing changed', async (_what, type) => {
    const before = await state();
    const r = await raw(local.endpoint, { path: '/_rotor/faults', headers: { Host: hostPort, 'Content-Type': type }, body: FAULT_BODY });
    refusedAs(r, 415, 'UnsupportedMediaType');
    const api = await raw(local.endpoint, {
      headers: { Host: hostPort, 'Content-Type': type, 'X-Amz-Target': 'secretsmanager.CreateSecret', ...fakeSigV4Headers() },
      body: JSON.stringify({ Name: 'planted', SecretString: 'x', ClientRequestToken: token() }),
    });
    refusedAs(api, 415, 'UnsupportedMediaType');
    expect(await state()).toEqual(before);
  });

  test('a body without Content-Type is refused, with nothing changed', async () => {
    const before = await state();
    refusedAs(await raw(local.endpoint, { path: '/_rotor/faults', headers: { Host: hostPort }, body: FAULT_BODY }), 415, 'UnsupportedMediaType');
    expect(await state()).toEqual(before);
  });

  test('JSON control requests, Node fetch and the real SDK (127.0.0.1 and localhost) still work', async () => {
    const set = await raw(local.endpoint, { path: '/_rotor/faults', headers: { Host: hostPort, 'Content-Type': 'application/json' }, body: JSON.stringify({ rateLimits: { DescribeSecret: 5 } }) });
    expect(set.status).toBe(200);
    // Node's fetch sends Sec-Fetch-Mode: cors (and no Origin, no Sec-Fetch-Site).
    const cleared = await fetch(`${local.endpoint}/_rotor/faults`, { method: 'DELETE' });
    expect(await cleared.json()).toEqual({ rateLimits: {}, faults: [] });

    await sm.send(new CreateSecretCommand({ Name: 'guard/sdk', SecretString: 'v1', ClientRequestToken: token() }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'guard/sdk' }))).SecretString).toBe('v1');
    const viaName = new SecretsManagerClient({ ...localClientConfig(local.endpoint.replace('127.0.0.1', 'localhost'), local.region), maxAttempts: 1 });
    try {
      expect((await viaName.send(new GetSecretValueCommand({ SecretId: 'guard/sdk' }))).SecretString).toBe('v1');
    } finally {
      viaName.destroy();
    }
  });
});

describe('the local RDS endpoint', () => {
  let local: LocalRds;
  let rds: RDSClient;
  let hostPort: string;
  const apply = stubApply();

  beforeAll(async () => {
    local = await LocalRds.start({ port: 0, passwordChangeDelayMs: 0 });
    local.addInstance({ identifier: 'guarded', engine: 'postgres', host: '127.0.0.1', port: 5432, masterUsername: 'master', applyPassword: apply });
    rds = new RDSClient({ ...localRdsClientConfig(local.endpoint, local.region), maxAttempts: 1 });
    hostPort = new URL(local.endpoint).host;
  });
  afterAll(async () => {
    rds.destroy();
    await local.stop();
  });

  const MODIFY = { Action: 'ModifyDBInstance', Version: '2014-10-31', DBInstanceIdentifier: 'guarded', MasterUserPassword: 'Planted-pw-1', ApplyImmediately: 'true' };
  const FORM = 'application/x-www-form-urlencoded; charset=utf-8';

  /** A signed ModifyDBInstance as the SDK sends it, with `headers` on top. */
  const modify = (headers: Record<string, string>) =>
    raw(local.endpoint, { headers: { Host: hostPort, 'Content-Type': FORM, ...sigV4Headers(), ...headers }, body: new URLSearchParams(MODIFY).toString() });

  /** A presigned URL (the signature in the query string), as a page could put in <img src> or a form's action. */
  function presigned(params: Record<string, string>): string {
    const h = sigV4Headers();
    return `/?${new URLSearchParams({
      ...params,
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': /Credential=([^,]+)/.exec(h.authorization)![1],
      'X-Amz-Date': h['x-amz-date'],
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': 'a'.repeat(64),
    })}`;
  }

  async function unchanged(fn: () => Promise<void>): Promise<void> {
    await fn();
    await local.idle();
    expect(local.passwordChanges()).toEqual([]);
    expect(apply.calls).toBe(0);
    expect(local.status('guarded')).toBe('available');
  }

  test('it listens on loopback by default', () => {
    expect(new URL(local.endpoint).hostname).toBe('127.0.0.1');
  });

  test('a foreign Host, an Origin or browser fetch metadata is refused, with nothing changed', async () => {
    await unchanged(async () => {
      for (const host of ['attacker.example:4566', 'localhost.attacker.example', '127.0.0.1.nip.io']) refusedAsXml(await modify({ Host: host }), 403, 'InvalidHostHeader');
      for (const origin of ['https://attacker.example', 'null']) refusedAsXml(await modify({ Origin: origin }), 403, 'CrossOriginRequestRefused');
      refusedAsXml(await modify({ 'Sec-Fetch-Site': 'cross-site', 'Sec-Fetch-Mode': 'no-cors' }), 403, 'BrowserRequestRefused');
      refusedAsXml(await modify({ 'Content-Type': 'text/plain' }), 415, 'UnsupportedMediaType');
    });
  });

  test('a presigned URL may describe but not modify (what an old browser without fetch metadata would send for <img src>)', async () => {
    await unchanged(async () => {
      const get = await raw(local.endpoint, { method: 'GET', path: presigned(MODIFY), headers: { Host: hostPort } });
      expect(get.status).toBe(403);
      expect(get.body).toContain('<Code>MissingAuthenticationToken</Code>');
      expect(get.body).toContain('Authorization header');
      // A form POST whose action URL carries the signature.
      const form = await raw(local.endpoint, { path: presigned({}), headers: { Host: hostPort, 'Content-Type': FORM }, body: new URLSearchParams(MODIFY).toString() });
      expect(form.status).toBe(403);
      expect(form.body).toContain('<Code>MissingAuthenticationToken</Code>');
    });
    const describe = await raw(local.endpoint, { method: 'GET', path: presigned({ Action: 'DescribeDBInstances', Version: '2014-10-31' }), headers: { Host: hostPort } });
    expect(describe.status).toBe(200);
    expect(describe.body).toContain('<DBInstanceIdentifier>guarded</DBInstanceIdentifier>');
  });

  test('the real @aws-sdk/client-rds still describes and modifies, and reads a refusal as a named error', async () => {
    const browserLike = new RDSClient({ ...localRdsClientConfig(local.endpoint, local.region), maxAttempts: 1 });
    browserLike.middlewareStack.add(
      (next) => async (args) => {
        (args.request as { headers: Record<string, string> }).headers.origin = 'https://attacker.example';
        return next(args);
      },
      { step: 'finalizeRequest' },
    );
    try {
      await expect(browserLike.send(new DescribeDBInstancesCommand({}))).rejects.toMatchObject({ name: 'CrossOriginRequestRefused', $metadata: { httpStatusCode: 403 } });
    } finally {
      browserLike.destroy();
    }

    const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'guarded' }));
    expect(out.DBInstances?.[0]?.DBInstanceIdentifier).toBe('guarded');
    await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'guarded', MasterUserPassword: 'Sdk-changed-pw-1', ApplyImmediately: true }));
    await local.idle();
    expect(apply.calls).toBe(1);
    expect(local.passwordChanges()).toHaveLength(1);
  });
});
