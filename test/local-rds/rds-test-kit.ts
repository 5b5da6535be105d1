import { DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { LocalRds, localRdsClientConfig, type LocalRdsOptions } from '../../local/rds';

/** A LocalRds and a real RDS client without SDK retries (each test sees exactly what the endpoint answered). */
export async function startLocalRds(opts: LocalRdsOptions = {}): Promise<{ local: LocalRds; rds: RDSClient }> {
  const local = await LocalRds.start({ port: 0, ...opts });
  const rds = new RDSClient({ ...localRdsClientConfig(local.endpoint, local.region), maxAttempts: 1 });
  return { local, rds };
}

/** An applyPassword that records the lengths it was given (never the password) and succeeds. */
export function stubApply(): ((pw: string) => Promise<void>) & { calls: number } {
  const f = Object.assign(
    async () => {
      f.calls++;
    },
    { calls: 0 },
  );
  return f;
}

/** Headers that pass the endpoint's SigV4 format and scope check (the signature itself is not verified locally). */
export function sigV4Headers(region = 'us-east-1', service = 'rds', date = new Date()): Record<string, string> {
  const amzDate = date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return {
    authorization: `AWS4-HMAC-SHA256 Credential=local/${amzDate.slice(0, 8)}/${region}/${service}/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
    'x-amz-date': amzDate,
  };
}

/** A raw Query request: POST / with a form body. */
export async function rawQuery(
  endpoint: string,
  params: Record<string, string>,
  headers: Record<string, string> = sigV4Headers(),
): Promise<{ status: number; body: string; contentType: string | null; requestId: string | null }> {
  const res = await fetch(`${endpoint}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8', ...headers },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, body: await res.text(), contentType: res.headers.get('content-type'), requestId: res.headers.get('x-amzn-requestid') };
}

/** The `<Code>` of a Query error response. */
export const errorCode = (xml: string) => /<Code>([^<]*)<\/Code>/.exec(xml)?.[1];

/**
 * Polls DescribeDBInstances / DescribeDBClusters every `everyMs` until the
 * status is `until`, returning the distinct statuses seen, in order.
 */
export async function pollStatus(
  rds: RDSClient,
  kind: 'instance' | 'cluster',
  id: string,
  until: string,
  opts: { everyMs?: number; timeoutMs?: number } = {},
): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    const status =
      kind === 'instance'
        ? (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).DBInstances![0].DBInstanceStatus!
        : (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters![0].Status!;
    if (seen[seen.length - 1] !== status) seen.push(status);
    if (status === until) return seen;
    if (Date.now() > deadline) throw new Error(`${kind} ${id} still ${status} after ${opts.timeoutMs ?? 10_000} ms (seen: ${seen.join(' -> ')})`);
    await new Promise((resolve) => setTimeout(resolve, opts.everyMs ?? 25));
  }
}
