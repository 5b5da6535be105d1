import { InvalidParameterException } from './errors';
import type { RotationRulesRecord } from './model';
import { DAY_MS, startOfUtcDay } from './store';

/*
 * Rotation schedules as Secrets Manager defines them:
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html
 * - AutomaticallyAfterDays (1-1000) XOR ScheduleExpression (rate() or cron()).
 * - "You can rotate a secret as often as every four hours."
 * - rate(): the window starts at midnight; cron(): at the hour given (minutes must be 0, year must be *).
 * - Default window: 1 hour for a schedule in hours, the rest of the UTC day for a schedule in days.
 * - "The rotation window must not extend into the next UTC day or into the next rotation window."
 */

const HOUR_MS = 60 * 60 * 1000;
const MIN_INTERVAL_HOURS = 4;
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

export type Schedule =
  | { kind: 'days'; days: number }
  | { kind: 'rate-hours'; hours: number }
  | { kind: 'cron'; cron: Cron };

export interface NormalizedRules {
  rules: RotationRulesRecord;
  schedule: Schedule;
  /** Window length in hours. */
  windowHours: number;
}

/** Validates RotationRules (already shape-checked) and works out the window. Throws InvalidParameterException. */
export function normalizeRotationRules(input: RotationRulesRecord, now: number): NormalizedRules {
  const { AutomaticallyAfterDays: days, ScheduleExpression: expression, Duration: duration } = input;
  if (days !== undefined && expression !== undefined) {
    throw new InvalidParameterException('You cannot specify both rotation frequency and schedule expression together.');
  }
  if (days === undefined && expression === undefined) {
    throw new InvalidParameterException('RotationRules must contain AutomaticallyAfterDays or ScheduleExpression.');
  }
  const durationHours = duration === undefined ? undefined : parseDuration(duration);

  if (days !== undefined) {
    const windowHours = durationHours ?? 24;
    if (windowHours > 24) throw windowError();
    return { rules: { AutomaticallyAfterDays: days, ...(duration ? { Duration: duration } : {}) }, schedule: { kind: 'days', days }, windowHours };
  }

  const schedule = parseScheduleExpression(expression!);
  let windowHours: number;
  let derivedDays: number;
  if (schedule.kind === 'days') {
    windowHours = durationHours ?? 24;
    if (windowHours > 24) throw windowError();
    derivedDays = schedule.days;
  } else if (schedule.kind === 'rate-hours') {
    windowHours = durationHours ?? 1;
    if (windowHours > schedule.hours) throw new InvalidParameterException('The rotation window must not extend into the next rotation window.');
    if (windowHours > 24) throw windowError();
    derivedDays = Math.max(1, Math.ceil(schedule.hours / 24));
  } else {
    const cron = schedule.cron;
    const gapMs = minimumGapMs(cron, now);
    if (gapMs !== undefined && gapMs < MIN_INTERVAL_HOURS * HOUR_MS) {
      throw new InvalidParameterException('Rotation schedules must be at least four hours apart; the cron expression schedules rotations closer together.');
    }
    const inHours = cron.hours.length > 1;
    const lastStart = Math.max(...cron.hours);
    windowHours = durationHours ?? (inHours ? 1 : 24 - lastStart);
    for (const h of cron.hours) if (h + windowHours > 24) throw windowError();
    if (gapMs !== undefined && windowHours * HOUR_MS > gapMs) {
      throw new InvalidParameterException('The rotation window must not extend into the next rotation window.');
    }
    derivedDays = gapMs === undefined ? 1 : Math.max(1, Math.ceil(gapMs / DAY_MS));
  }
  // DescribeSecret reports AutomaticallyAfterDays computed from the schedule too.
  const rules: RotationRulesRecord = { AutomaticallyAfterDays: derivedDays, ScheduleExpression: expression };
  if (duration) rules.Duration = duration;
  return { rules, schedule, windowHours };
}

function windowError(): InvalidParameterException {
  return new InvalidParameterException('The rotation window must not extend into the next UTC day.');
}

function parseDuration(d: string): number {
  const hours = Number(d.slice(0, -1));
  if (!Number.isInteger(hours) || hours < 1 || hours > 24) {
    throw new InvalidParameterException(`Duration must be between 1h and 24h; got ${d}.`);
  }
  return hours;
}

export function parseScheduleExpression(expr: string): Schedule {
  const rate = /^rate\((\d+) (hour|hours|day|days)\)$/.exec(expr);
  if (rate) {
    const n = Number(rate[1]);
    if (rate[2].startsWith('day')) {
      if (n < 1 || n > 1000) throw new InvalidParameterException('A rate() expression in days must be between 1 and 1000 days.');
      return { kind: 'days', days: n };
    }
    if (n < MIN_INTERVAL_HOURS) {
      throw new InvalidParameterException('Rotation schedules must be at least four hours apart; rate() in hours must be 4 or more.');
    }
    if (n % 24 === 0) return { kind: 'days', days: n / 24 };
    return { kind: 'rate-hours', hours: n };
  }
  if (expr.startsWith('rate(')) {
    throw new InvalidParameterException(`Invalid rate expression ${expr}: use rate(<number> hours) or rate(<number> days).`);
  }
  const cron = /^cron\((.*)\)$/.exec(expr);
  if (!cron) throw new InvalidParameterException(`Invalid schedule expression ${expr}: use a rate() or cron() expression.`);
  return { kind: 'cron', cron: parseCron(cron[1]) };
}

// ---- cron ---------------------------------------------------------------

export interface Cron {
  hours: number[];
  months: Set<number>;
  /** undefined when Day-of-month is '?'. */
  dom?: { days: Set<number>; last: boolean };
  /** undefined when Day-of-week is '?'. Days 1 (SUN) - 7 (SAT). */
  dow?: { days: Set<number>; nth: { day: number; n: number }[]; last: number[] };
}

function cronError(message: string): InvalidParameterException {
  return new InvalidParameterException(`Invalid cron expression: ${message}`);
}

export function parseCron(body: string): Cron {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) throw cronError(`expected 6 fields (Minutes Hours Day-of-month Month Day-of-week Year), got ${fields.length}.`);
  const [minutes, hours, dom, month, dow, year] = fields;
  if (minutes !== '0') throw cronError('Minutes must be 0: Secrets Manager rotation windows open on the hour.');
  if (year !== '*') throw cronError('Year must be *.');
  if ((dom === '?') === (dow === '?')) {
    throw cronError("one of Day-of-month and Day-of-week must be '?', and not both.");
  }
  const parsed: Cron = {
    hours: [...numericField(hours, 0, 23, 'Hours')].sort((a, b) => a - b),
    months: numericField(month, 1, 12, 'Month', MONTHS),
  };
  if (dom !== '?') {
    const last = dom === 'L';
    parsed.dom = { days: last ? new Set() : numericField(dom, 1, 31, 'Day-of-month'), last };
  }
  if (dow !== '?') parsed.dow = parseDayOfWeek(dow);
  return parsed;
}

function numericField(field: string, lo: number, hi: number, name: string, names?: string[]): Set<number> {
  const out = new Set<number>();
  const value = (t: string): number => {
    const upper = t.toUpperCase();
    if (names && names.includes(upper)) return names.indexOf(upper) + lo;
    if (!/^\d+$/.test(t)) throw cronError(`${name} value "${t}" is not valid.`);
    const n = Number(t);
    if (n < lo || n > hi) throw cronError(`${name} value ${n} is out of range ${lo}-${hi}.`);
    return n;
  };
  for (const part of field.split(',')) {
    const [range, stepText] = part.split('/');
    if (part.split('/').length > 2) throw cronError(`${name} value "${part}" is not valid.`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw cronError(`${name} step "${stepText}" is not valid.`);
    let from: number;
    let to: number;
    if (range === '*') {
      from = lo;
      to = hi;
    } else if (range.includes('-')) {
      const [a, b] = range.split('-');
      from = value(a);
      to = value(b);
      if (from > to) throw cronError(`${name} range "${range}" is reversed.`);
    } else {
      from = value(range);
      to = stepText === undefined ? from : hi;
    }
    for (let n = from; n <= to; n += step) out.add(n);
  }
  if (out.size === 0) throw cronError(`${name} selects nothing.`);
  return out;
}

function parseDayOfWeek(field: string): NonNullable<Cron['dow']> {
  const result: NonNullable<Cron['dow']> = { days: new Set(), nth: [], last: [] };
  const day = (t: string): number => {
    const upper = t.toUpperCase();
    if (WEEKDAYS.includes(upper)) return WEEKDAYS.indexOf(upper) + 1;
    if (/^[1-7]$/.test(t)) return Number(t);
    throw cronError(`Day-of-week value "${t}" is not valid.`);
  };
  for (const part of field.split(',')) {
    const nth = /^([A-Za-z]+|\d)#([1-5])$/.exec(part);
    const last = /^([A-Za-z]+|\d)L$/.exec(part);
    if (nth) result.nth.push({ day: day(nth[1]), n: Number(nth[2]) });
    else if (last) result.last.push(day(last[1]));
    else if (part === 'L') result.last.push(7);
    else for (const d of numericField(part, 1, 7, 'Day-of-week', WEEKDAYS)) result.days.add(d);
  }
  return result;
}

function daysInMonth(year: number, month0: number): number {
  return new Date(Date.UTC(year, month0 + 1, 0)).getUTCDate();
}

function dayMatches(cron: Cron, dayStart: number): boolean {
  const d = new Date(dayStart);
  if (!cron.months.has(d.getUTCMonth() + 1)) return false;
  const date = d.getUTCDate();
  const lastDay = daysInMonth(d.getUTCFullYear(), d.getUTCMonth());
  if (cron.dom) return cron.dom.days.has(date) || (cron.dom.last && date === lastDay);
  const dow = cron.dow!;
  const weekday = d.getUTCDay() + 1;
  if (dow.days.has(weekday)) return true;
  if (dow.nth.some((x) => x.day === weekday && Math.ceil(date / 7) === x.n)) return true;
  return dow.last.some((x) => x === weekday && date + 7 > lastDay);
}

/** Window starts in [from, until), in order. */
export function* cronOccurrences(cron: Cron, from: number, until: number): Generator<number> {
  for (let day = startOfUtcDay(from); day < until; day += DAY_MS) {
    if (!dayMatches(cron, day)) continue;
    for (const h of cron.hours) {
      const t = day + h * HOUR_MS;
      if (t >= from && t < until) yield t;
    }
  }
}

/** The smallest gap between consecutive windows over the next ~2 years; undefined if fewer than two. */
function minimumGapMs(cron: Cron, now: number): number | undefined {
  let prev: number | undefined;
  let min: number | undefined;
  for (const t of cronOccurrences(cron, startOfUtcDay(now), startOfUtcDay(now) + 2 * 366 * DAY_MS)) {
    if (prev !== undefined && (min === undefined || t - prev < min)) min = t - prev;
    prev = t;
  }
  return min;
}

/**
 * The end of the next rotation window after `base` (the last rotation, or
 * now when rotation is first turned on). For AutomaticallyAfterDays and
 * rate(N days), Secrets Manager "schedules the date by adding the rotation
 * interval (number of days) to the actual date of the last rotation"
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot_rotation.html).
 * The result is the last second of that window ("on or before this date").
 */
export function nextRotationDate(n: NormalizedRules, base: number): number | undefined {
  const windowMs = n.windowHours * HOUR_MS;
  const s = n.schedule;
  let start: number | undefined;
  if (s.kind === 'days') {
    start = startOfUtcDay(base) + s.days * DAY_MS;
  } else if (s.kind === 'rate-hours') {
    const day = startOfUtcDay(base);
    const slot = Math.floor((base - day) / (s.hours * HOUR_MS)) + 1;
    start = day + slot * s.hours * HOUR_MS;
    if (s.hours < 24 && start >= day + DAY_MS) start = day + DAY_MS;
  } else {
    const it = cronOccurrences(s.cron, base + 1, base + 6 * 366 * DAY_MS).next();
    start = it.done ? undefined : it.value;
  }
  return start === undefined ? undefined : start + windowMs - 1000;
}

/** The next rotation date for stored rules (which may carry a derived AutomaticallyAfterDays next to the expression). */
export function nextRotationDateFor(rules: RotationRulesRecord | undefined, base: number): number | undefined {
  if (!rules) return undefined;
  const input: RotationRulesRecord = rules.ScheduleExpression
    ? { ScheduleExpression: rules.ScheduleExpression, Duration: rules.Duration }
    : { AutomaticallyAfterDays: rules.AutomaticallyAfterDays, Duration: rules.Duration };
  try {
    return nextRotationDate(normalizeRotationRules(input, base), base);
  } catch {
    return undefined;
  }
}
