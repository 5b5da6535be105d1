import { createHash, randomBytes } from 'node:crypto';
import { InvalidNextTokenException } from './errors';

/**
 * Opaque NextTokens: an offset bound to the query it came from, so a token
 * from another query (or a tampered one) is refused with
 * InvalidNextTokenException, as AWS does.
 */
export class Paginator {
  private readonly key = randomBytes(16);

  page<T>(items: T[], query: unknown, maxResults: number, nextToken: string | undefined): { items: T[]; nextToken?: string } {
    const binding = this.bind(query);
    let offset = 0;
    if (nextToken !== undefined) {
      const parsed = this.parse(nextToken);
      if (!parsed || parsed.b !== binding || parsed.o > items.length) throw new InvalidNextTokenException();
      offset = parsed.o;
    }
    const end = offset + maxResults;
    const out = items.slice(offset, end);
    return end < items.length ? { items: out, nextToken: this.token(end, binding) } : { items: out };
  }

  private bind(query: unknown): string {
    return createHash('sha256').update(this.key).update(JSON.stringify(query ?? null)).digest('base64url').slice(0, 16);
  }

  private token(offset: number, binding: string): string {
    const body = Buffer.from(JSON.stringify({ o: offset, b: binding })).toString('base64url');
    const mac = createHash('sha256').update(this.key).update(body).digest('base64url').slice(0, 16);
    return `${body}.${mac}`;
  }

  private parse(token: string): { o: number; b: string } | undefined {
    const [body, mac] = token.split('.');
    if (!body || !mac) return undefined;
    const expected = createHash('sha256').update(this.key).update(body).digest('base64url').slice(0, 16);
    if (mac !== expected) return undefined;
    try {
      const v = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as { o?: unknown; b?: unknown };
      return typeof v.o === 'number' && typeof v.b === 'string' ? { o: v.o, b: v.b } : undefined;
    } catch {
      return undefined;
    }
  }
}
