export type RdsResourceKind = 'instance' | 'cluster';

/** `arn:aws:rds:<region>:<account>:db:<id>` or `...:cluster:<id>` -> kind and identifier. */
export function parseRdsArn(arn: string): { kind: RdsResourceKind; identifier: string } | undefined {
  const m = /^arn:aws[a-z-]*:rds:[a-z0-9-]*:[0-9]*:(db|cluster):([A-Za-z0-9-]+)$/.exec(arn);
  if (!m) return undefined;
  return { kind: m[1] === 'db' ? 'instance' : 'cluster', identifier: m[2] };
}
