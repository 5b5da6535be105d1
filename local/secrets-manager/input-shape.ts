import { SerializationException, ValidationException } from './errors';

/**
 * A small description of an operation's input, mirroring the constraints of
 * the Secrets Manager service model (min/max length, ranges, patterns,
 * enums, required members). Constraints come from the API reference, e.g.
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html#API_PutSecretValue_RequestParameters
 */
export type Shape = StringShape | IntegerShape | BooleanShape | BlobShape | ListShape | StructureShape;

export interface StringShape {
  kind: 'string';
  min?: number;
  max?: number;
  pattern?: RegExp;
  enum?: readonly string[];
  /** Never echoed in messages. */
  sensitive?: boolean;
  /** Length limits count UTF-8 bytes instead of characters. */
  bytes?: boolean;
}
export interface IntegerShape {
  kind: 'integer';
  min?: number;
  max?: number;
}
export interface BooleanShape {
  kind: 'boolean';
}
/** Blobs travel base64-encoded in the JSON protocol; limits count decoded bytes. */
export interface BlobShape {
  kind: 'blob';
  min?: number;
  max?: number;
}
export interface ListShape {
  kind: 'list';
  member: Shape;
  min?: number;
  max?: number;
}
export interface StructureShape {
  kind: 'structure';
  members: Record<string, Shape>;
  required?: readonly string[];
}

export const str = (o: Omit<StringShape, 'kind'> = {}): StringShape => ({ kind: 'string', ...o });
export const int = (o: Omit<IntegerShape, 'kind'> = {}): IntegerShape => ({ kind: 'integer', ...o });
export const bool = (): BooleanShape => ({ kind: 'boolean' });
export const blob = (o: Omit<BlobShape, 'kind'> = {}): BlobShape => ({ kind: 'blob', ...o });
export const list = (member: Shape, o: Omit<ListShape, 'kind' | 'member'> = {}): ListShape => ({ kind: 'list', member, ...o });
export const struct = (members: Record<string, Shape>, required: readonly string[] = []): StructureShape => ({
  kind: 'structure',
  members,
  required,
});

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Parses a request body against a structure shape. Wrong JSON types raise
 * SerializationException (as the JSON protocol does); constraint violations
 * are collected and raised together as one ValidationException in AWS's
 * "N validation errors detected: ..." form. Unknown members are dropped;
 * JSON `null` counts as absent. Blobs come back as Buffers.
 */
export function parseInput<T>(shape: StructureShape, body: unknown): T {
  const value = coerce(shape, body, '');
  const problems: string[] = [];
  check(shape, value, '', problems);
  if (problems.length > 0) {
    const n = problems.length;
    throw new ValidationException(`${n} validation error${n === 1 ? '' : 's'} detected: ${problems.join('; ')}`);
  }
  return value as T;
}

function memberPath(parent: string, member: string): string {
  const camel = member.charAt(0).toLowerCase() + member.slice(1);
  return parent ? `${parent}.${camel}` : camel;
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

function coerce(shape: Shape, v: unknown, path: string): unknown {
  const where = path || 'the request body';
  switch (shape.kind) {
    case 'structure': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        throw new SerializationException(`Expected a JSON object at '${where}' but found ${typeName(v)}.`);
      }
      const out: Record<string, unknown> = {};
      for (const [name, memberShape] of Object.entries(shape.members)) {
        const raw = (v as Record<string, unknown>)[name];
        if (raw === undefined || raw === null) continue;
        out[name] = coerce(memberShape, raw, memberPath(path, name));
      }
      return out;
    }
    case 'list': {
      if (!Array.isArray(v)) throw new SerializationException(`Expected a JSON array at '${where}' but found ${typeName(v)}.`);
      return v.map((item, i) => {
        if (item === null) throw new SerializationException(`Null list member at '${where}.${i + 1}.member'.`);
        return coerce(shape.member, item, `${path}.${i + 1}.member`);
      });
    }
    case 'string':
      if (typeof v !== 'string') throw new SerializationException(`Expected a string at '${where}' but found ${typeName(v)}.`);
      return v;
    case 'integer':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
        throw new SerializationException(`Expected an integer at '${where}' but found ${typeof v === 'number' ? String(v) : typeName(v)}.`);
      }
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') throw new SerializationException(`Expected a boolean at '${where}' but found ${typeName(v)}.`);
      return v;
    case 'blob':
      if (typeof v !== 'string' || !BASE64.test(v)) {
        throw new SerializationException(`Expected a base64-encoded blob at '${where}'.`);
      }
      return Buffer.from(v, 'base64');
  }
}

function valueText(shape: Shape, v: unknown): string {
  if (shape.kind === 'string' && !shape.sensitive && typeof v === 'string' && v.length <= 256) return `Value '${v}' at`;
  if (shape.kind === 'integer' && typeof v === 'number') return `Value '${v}' at`;
  return 'Value at';
}

function check(shape: Shape, v: unknown, path: string, problems: string[]): void {
  const fail = (constraint: string) => problems.push(`${valueText(shape, v)} '${path}' failed to satisfy constraint: ${constraint}`);
  switch (shape.kind) {
    case 'structure': {
      const obj = v as Record<string, unknown>;
      for (const name of shape.required ?? []) {
        if (obj[name] === undefined) {
          problems.push(`Value null at '${memberPath(path, name)}' failed to satisfy constraint: Member must not be null`);
        }
      }
      for (const [name, memberShape] of Object.entries(shape.members)) {
        if (obj[name] !== undefined) check(memberShape, obj[name], memberPath(path, name), problems);
      }
      return;
    }
    case 'list': {
      const arr = v as unknown[];
      if (shape.min !== undefined && arr.length < shape.min) fail(`Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && arr.length > shape.max) fail(`Member must have length less than or equal to ${shape.max}`);
      arr.forEach((item, i) => check(shape.member, item, `${path}.${i + 1}.member`, problems));
      return;
    }
    case 'string': {
      const s = v as string;
      const len = shape.bytes ? Buffer.byteLength(s, 'utf8') : s.length;
      if (shape.min !== undefined && len < shape.min) fail(`Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && len > shape.max) fail(`Member must have length less than or equal to ${shape.max}`);
      if (shape.pattern && !shape.pattern.test(s)) fail(`Member must satisfy regular expression pattern: ${shape.pattern.source}`);
      if (shape.enum && !shape.enum.includes(s)) fail(`Member must satisfy enum value set: [${shape.enum.join(', ')}]`);
      return;
    }
    case 'integer': {
      const n = v as number;
      if (shape.min !== undefined && n < shape.min) fail(`Member must have value greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && n > shape.max) fail(`Member must have value less than or equal to ${shape.max}`);
      return;
    }
    case 'blob': {
      const b = v as Buffer;
      if (shape.min !== undefined && b.length < shape.min) fail(`Member must have length greater than or equal to ${shape.min}`);
      if (shape.max !== undefined && b.length > shape.max) fail(`Member must have length less than or equal to ${shape.max}`);
      return;
    }
    case 'boolean':
      return;
  }
}
