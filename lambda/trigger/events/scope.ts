import type { FindingSkipReason, SkippedFinding } from './trigger-request';

/**
 * The account and Region the trigger function runs in: the only ones whose
 * findings it acts on. The account comes from the Lambda context's
 * invokedFunctionArn (`arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`),
 * the Region from AWS_REGION (set by Lambda in every function,
 * https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime).
 */
export interface TriggerScope {
  partition: string;
  account: string;
  region: string;
}

export interface ArnParts {
  partition: string;
  service: string;
  /** '' for global resources (IAM, or Health's global events use "global"). */
  region: string;
  /** '' when the ARN leaves it out (e.g. AWS Health event ARNs). */
  account: string;
  resource: string;
}

const ARN = /^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|):(.+)$/;

export function parseArn(s: string): ArnParts | undefined {
  const m = ARN.exec(s);
  return m ? { partition: m[1], service: m[2], region: m[3], account: m[4], resource: m[5] } : undefined;
}

/** The Lambda function ARN -> partition, account, Region; undefined if it is not one. */
export function scopeFromFunctionArn(arn: unknown): TriggerScope | undefined {
  if (typeof arn !== 'string') return undefined;
  const p = parseArn(arn);
  if (!p || p.service !== 'lambda' || !p.account || !p.region || !p.resource.startsWith('function:')) return undefined;
  return { partition: p.partition, account: p.account, region: p.region };
}

/**
 * Global services send their AWS Health events from one Region per
 * partition (us-east-1 in the standard partition; the events carry
 * eventRegion "global" or that Region):
 * https://docs.aws.amazon.com/health/latest/ug/choosing-a-region.html
 */
export const GLOBAL_EVENTS_REGION: Record<string, string> = {
  aws: 'us-east-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-cn': 'cn-north-1',
};

/**
 * Collects the findings an event carries that are skipped, and checks an
 * account / Region pair against the function's own. Missing values are not
 * a match: a finding that does not say where it comes from is not acted on.
 */
export class ScopeCheck {
  readonly skipped: SkippedFinding[] = [];

  constructor(readonly self: TriggerScope) {}

  skip(finding: string, reason: FindingSkipReason, detail: string): void {
    this.skipped.push({ finding, reason, detail });
  }

  /** True when `account` and `region` are this function's; otherwise records why the finding is skipped. */
  accepts(finding: string, where: string, account: string | undefined, region: string | undefined): boolean {
    if (!account) {
      this.skip(finding, 'no-scope', `${where} names no account; a finding is acted on only when it names this account (${this.self.account})`);
      return false;
    }
    if (account !== this.self.account) {
      this.skip(finding, 'other-account', `${where} is in account ${account}, not this function's account ${this.self.account}`);
      return false;
    }
    if (!region) {
      this.skip(finding, 'no-scope', `${where} names no Region; a finding is acted on only when it names this Region (${this.self.region})`);
      return false;
    }
    if (region !== this.self.region) {
      this.skip(finding, 'other-region', `${where} is in Region ${region}, not this function's Region ${this.self.region}`);
      return false;
    }
    return true;
  }

  /**
   * An ARN named by a finding: its account and Region, where it has them,
   * must be this function's (an ARN without a Region, e.g. IAM, passes the
   * Region check; one without an account passes the account check).
   */
  acceptsArn(finding: string, where: string, arn: string): boolean {
    const p = parseArn(arn);
    if (!p) return true;
    return this.accepts(finding, `${where} (${arn.slice(0, 256)})`, p.account || this.self.account, p.region || this.self.region);
  }
}
