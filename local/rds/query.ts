import { invalidParameterValue, missingParameter } from './errors';

/**
 * Request parameters of the AWS Query protocol: `Action=...&Version=...&Name=value`,
 * lists as `Prefix.Member.N` (N from 1), structures as `Prefix.Field`
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Using_the_Query_API.html,
 * https://smithy.io/2.0/aws/protocols/aws-query-protocol.html).
 *
 * Keys are case-sensitive, as AWS treats them.
 */
export class QueryParams {
  private readonly map = new Map<string, string>();

  constructor(entries: Iterable<[string, string]>) {
    for (const [k, v] of entries) if (!this.map.has(k)) this.map.set(k, v);
  }

  static parse(formBody: string): QueryParams {
    return new QueryParams(new URLSearchParams(formBody));
  }

  has(name: string): boolean {
    return this.map.has(name);
  }

  keys(): string[] {
    return [...this.map.keys()];
  }

  string(name: string): string | undefined {
    return this.map.get(name);
  }

  requiredString(name: string): string {
    const v = this.map.get(name);
    if (v === undefined || v === '') throw missingParameter(name);
    return v;
  }

  boolean(name: string): boolean | undefined {
    const v = this.map.get(name);
    if (v === undefined) return undefined;
    if (/^true$/i.test(v)) return true;
    if (/^false$/i.test(v)) return false;
    throw invalidParameterValue(`Invalid value ${v.slice(0, 40)} for ${name}: must be true or false.`);
  }

  integer(name: string): number | undefined {
    const v = this.map.get(name);
    if (v === undefined) return undefined;
    if (!/^-?\d{1,10}$/.test(v)) throw invalidParameterValue(`Invalid value ${v.slice(0, 40)} for ${name}: must be an integer.`);
    return Number(v);
  }

  /**
   * The indices present for a list `prefix.N...` (sorted). An empty list is
   * sent by the SDK as `prefix=` with no members.
   */
  listIndices(prefix: string): number[] {
    const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.(\\d+)(?:\\.|$)`);
    const found = new Set<number>();
    for (const k of this.map.keys()) {
      const m = re.exec(k);
      if (m) found.add(Number(m[1]));
    }
    return [...found].sort((a, b) => a - b);
  }

  /** A list of strings `prefix.N`. */
  stringList(prefix: string): string[] {
    return this.listIndices(prefix).map((i) => this.map.get(`${prefix}.${i}`) ?? '');
  }
}

export interface Filter {
  name: string;
  values: string[];
}

/** `Filters.Filter.N.Name` and `Filters.Filter.N.Values.Value.M`. */
export function readFilters(params: QueryParams): Filter[] {
  return params.listIndices('Filters.Filter').map((i) => {
    const name = params.string(`Filters.Filter.${i}.Name`);
    if (name === undefined || name === '') throw missingParameter(`Filters.Filter.${i}.Name`);
    const values = params.stringList(`Filters.Filter.${i}.Values.Value`);
    if (values.length === 0) throw invalidParameterValue(`The filter ${name.slice(0, 60)} needs at least one value (Filters.Filter.${i}.Values.Value.1).`);
    return { name, values };
  });
}
