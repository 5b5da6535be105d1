import { invalidEvent, type TagFilter } from './trigger-request';

/**
 * Small readers for untrusted JSON. Every message names the path of the
 * field, never its value (an event could carry anything).
 */
export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function objectAt(v: unknown, path: string): Json {
  if (!isObject(v)) throw invalidEvent(`${path} must be an object`);
  return v;
}

export function optionalObject(v: unknown, path: string): Json | undefined {
  return v === undefined || v === null ? undefined : objectAt(v, path);
}

export function stringAt(v: unknown, path: string, max = 2048): string {
  if (typeof v !== 'string' || v.length === 0) throw invalidEvent(`${path} must be a non-empty string`);
  if (v.length > max) throw invalidEvent(`${path} is longer than ${max} characters`);
  return v;
}

export function optionalString(v: unknown, path: string, max = 2048): string | undefined {
  return v === undefined || v === null ? undefined : stringAt(v, path, max);
}

export function arrayAt(v: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(v)) throw invalidEvent(`${path} must be an array`);
  if (v.length > max) throw invalidEvent(`${path} has more than ${max} entries`);
  return v;
}

export function optionalArray(v: unknown, path: string, max: number): unknown[] | undefined {
  return v === undefined || v === null ? undefined : arrayAt(v, path, max);
}

/** The id EventBridge gives every event; redeliveries keep it. */
export function eventBridgeId(event: Json): string {
  return stringAt(event.id, 'id', 256);
}

const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

/** `[{ "key": "env", "values": ["prod"] }]`: 1-10 filters, 1-20 values each, Secrets Manager tag syntax. */
export function parseTagFilters(v: unknown, path: string): TagFilter[] {
  const list = arrayAt(v, path, 10);
  if (list.length === 0) throw invalidEvent(`${path} must name at least one tag filter`);
  return list.map((raw, i) => {
    const at = `${path}[${i}]`;
    const f = objectAt(raw, at);
    const key = stringAt(f.key, `${at}.key`, 128);
    if (!TAG_KEY.test(key)) throw invalidEvent(`${at}.key is not a valid tag key`);
    const values = arrayAt(f.values, `${at}.values`, 20).map((x, j) => {
      if (typeof x !== 'string' || !TAG_VALUE.test(x)) throw invalidEvent(`${at}.values[${j}] is not a valid tag value`);
      return x;
    });
    if (values.length === 0) throw invalidEvent(`${at}.values must list at least one value`);
    return { key, values };
  });
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$/;
const SECRET_NAME = /^[\w/+=.@-]{1,512}$/;

export function isSecretArn(s: string): boolean {
  return SECRET_ARN.test(s);
}

/** A secret name or ARN as Secrets Manager accepts it. */
export function parseSecretId(v: unknown, path: string): string {
  const s = stringAt(v, path, 2048);
  if (!isSecretArn(s) && !SECRET_NAME.test(s)) throw invalidEvent(`${path} is not a secret name or ARN`);
  return s;
}
