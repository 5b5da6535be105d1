import type { SecretRecord } from '../model';
import type { FilterInput } from '../operation-shapes';
import { compileFilters } from '../secret-filters';
import { compact, type OperationContext } from './context';
import { secretMetadata } from './secret-view';

interface ListSecretsInput {
  IncludePlannedDeletion?: boolean;
  MaxResults?: number;
  NextToken?: string;
  Filters?: FilterInput[];
  SortOrder?: 'asc' | 'desc';
  SortBy?: 'created-date' | 'last-accessed-date' | 'last-changed-date' | 'name';
}

/**
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html
 * Secrets scheduled for deletion are left out unless IncludePlannedDeletion.
 * Sorted by CreatedDate unless SortBy says otherwise (ascending by default).
 */
export function listSecrets(input: ListSecretsInput, { store, paginator }: OperationContext): Record<string, unknown> {
  const matches = compileFilters(input.Filters);
  const key = sortKey(input.SortBy ?? 'created-date');
  const direction = input.SortOrder === 'desc' ? -1 : 1;
  const secrets = store
    .all()
    .filter((s) => (input.IncludePlannedDeletion === true || s.deletedDate === undefined) && matches(s))
    .sort((a, b) => {
      const ka = key(a);
      const kb = key(b);
      const c = ka < kb ? -1 : ka > kb ? 1 : a.createdDate - b.createdDate || (a.arn < b.arn ? -1 : 1);
      return c * direction;
    });
  const page = paginator.page(
    secrets.map((s) => s.arn),
    { op: 'ListSecrets', filters: input.Filters, planned: input.IncludePlannedDeletion === true, by: input.SortBy, order: input.SortOrder },
    input.MaxResults ?? 100,
    input.NextToken,
  );
  const list = page.items.map((arn) => store.get(arn)).filter((s): s is SecretRecord => s !== undefined);
  return compact({ SecretList: list.map((s) => secretMetadata(s, true)), NextToken: page.nextToken });
}

function sortKey(by: NonNullable<ListSecretsInput['SortBy']>): (s: SecretRecord) => number | string {
  switch (by) {
    case 'name':
      return (s) => s.name;
    case 'last-accessed-date':
      return (s) => s.lastAccessedDate ?? 0;
    case 'last-changed-date':
      return (s) => s.lastChangedDate;
    case 'created-date':
      return (s) => s.createdDate;
  }
}
