export type RdsResourceKind = 'instance' | 'cluster';

export interface RdsArn {
  kind: RdsResourceKind;
  identifier: string;
  /** '' when the ARN leaves it out. */
  region: string;
  account: string;
}

/**
 * `arn:aws:rds:<region>:<account>:db:<id>` or `...:cluster:<id>` -> kind,
 * identifier, Region and account. RDS identifiers are case-insensitive and
 * stored lower-case; the identifier is returned as written.
 */
export function parseRdsArn(arn: string): RdsArn | undefined {
  const m = /^arn:aws[a-z-]*:rds:([a-z0-9-]*):([0-9]*):(db|cluster):([A-Za-z0-9-]+)$/.exec(arn);
  if (!m) return undefined;
  return { kind: m[3] === 'db' ? 'instance' : 'cluster', identifier: m[4], region: m[1], account: m[2] };
}
