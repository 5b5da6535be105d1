import type { TagFilter } from '../../lambda/trigger/events';

/** Colour only when the stream is a terminal and NO_COLOR is not set. */
export function colourOn(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, grey: 90 } as const;
export type Colour = keyof typeof CODES;

export function paint(text: string, colour: Colour | undefined, on = colourOn()): string {
  return on && colour ? `\u001b[${CODES[colour]}m${text}\u001b[39m` : text;
}

export function tableStyle(on = colourOn()) {
  return on ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** "2025-01-31 14:05 UTC"; "-" for none. */
export function formatDate(d: Date | undefined, dayOnly = false): string {
  if (!d) return '-';
  const iso = d.toISOString();
  return dayOnly ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** A short relative description: "in 3d", "5h ago". */
export function relative(d: Date | undefined, now: number): string {
  if (!d) return '';
  const ms = d.getTime() - now;
  const abs = Math.abs(ms);
  const text = abs >= 86_400_000 ? `${Math.floor(abs / 86_400_000)}d` : abs >= 3_600_000 ? `${Math.floor(abs / 3_600_000)}h` : `${Math.max(1, Math.floor(abs / 60_000))}m`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

/** Repeated `--tag key=value` options; the same key twice ORs its values (as the trigger's tag filters do). */
export function collectTag(value: string, previous: TagFilter[] = []): TagFilter[] {
  const i = value.indexOf('=');
  if (i <= 0) {
    const { InvalidArgumentError } = require('commander') as typeof import('commander');
    throw new InvalidArgumentError('a tag filter is key=value (e.g. --tag env=prod).');
  }
  const key = value.slice(0, i);
  const v = value.slice(i + 1);
  const out = previous.map((f) => ({ key: f.key, values: [...f.values] }));
  const same = out.find((f) => f.key === key);
  if (same) {
    if (!same.values.includes(v)) same.values.push(v);
  } else out.push({ key, values: [v] });
  return out;
}

export function matchesTags(tags: Record<string, string>, filters: TagFilter[]): boolean {
  return filters.every((f) => tags[f.key] !== undefined && f.values.includes(tags[f.key]));
}

/** Error name/code of an SDK or socket error, for messages (never the error's values). */
export function describeError(e: unknown): string {
  const name = (e as { name?: string })?.name;
  const msg = e instanceof Error ? e.message : String(e);
  return name && name !== 'Error' && !msg.startsWith(name) ? `${name}: ${msg}` : msg;
}
