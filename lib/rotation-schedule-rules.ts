import { Duration } from 'aws-cdk-lib';

/** Secrets Manager's shortest rotation interval. */
export const MIN_ROTATION_INTERVAL_HOURS = 4;

/** The schedule of one secret, as given by the user. */
export interface RotationScheduleOptions {
  /**
   * Rotate after this long: whole hours (at least 4) or whole days (at most 1000).
   * Mutually exclusive with `scheduleExpression`.
   * @default Duration.days(30) when `scheduleExpression` is not set
   */
  readonly automaticallyAfter?: Duration;
  /**
   * A Secrets Manager schedule expression, `cron(0 4 ? * SUN *)` or
   * `rate(12 hours)`. Cron minutes must be 0; at least 4 hours between rotations.
   * @default - `automaticallyAfter`
   */
  readonly scheduleExpression?: string;
  /** Rotation window: whole hours, 1-24, shorter than the interval. @default - Secrets Manager's default window */
  readonly window?: Duration;
}

/** The RotationRules of an AWS::SecretsManager::RotationSchedule. */
export interface ResolvedRotationRules {
  readonly scheduleExpression: string;
  /** e.g. "3h"; undefined = Secrets Manager's default window. */
  readonly duration?: string;
  /** The shortest time between two rotations the expression allows, in hours. */
  readonly intervalHours: number;
}

/**
 * Checks a rotation schedule the way Secrets Manager will, so mistakes fail
 * `cdk synth` instead of the deployment. Messages name the field and the fix.
 */
export function resolveRotationRules(options: RotationScheduleOptions, where: string): ResolvedRotationRules {
  const fail = (msg: string): never => {
    throw new Error(`${where}: ${msg}`);
  };
  if (options.automaticallyAfter && options.scheduleExpression) {
    fail('set either automaticallyAfter or scheduleExpression, not both.');
  }
  let expression: string;
  let intervalHours: number;
  if (options.scheduleExpression !== undefined) {
    expression = options.scheduleExpression.trim();
    const rate = /^rate\((\d+) (hour|hours|day|days)\)$/.exec(expression);
    if (rate) {
      intervalHours = Number(rate[1]) * (rate[2].startsWith('day') ? 24 : 1);
      if (rate[2].startsWith('day') && Number(rate[1]) > 1000) fail(`scheduleExpression ${expression}: at most 1000 days.`);
    } else if (/^cron\(.*\)$/.test(expression)) {
      intervalHours = cronIntervalHours(expression.slice(5, -1), fail);
    } else {
      return fail(`scheduleExpression "${expression}" is neither rate(N hours|days) nor cron(...).`);
    }
  } else {
    const after = options.automaticallyAfter ?? Duration.days(30);
    const hours = after.toHours({ integral: false });
    if (!Number.isInteger(hours)) fail(`automaticallyAfter is ${after.toHumanString()}; it must be whole hours or days.`);
    intervalHours = hours;
    if (hours % 24 === 0) {
      if (hours / 24 > 1000) fail(`automaticallyAfter is ${hours / 24} days; Secrets Manager allows at most 1000.`);
      expression = `rate(${hours / 24} days)`;
    } else {
      expression = `rate(${hours} hours)`;
    }
  }
  if (intervalHours < MIN_ROTATION_INTERVAL_HOURS) {
    fail(`the schedule rotates every ${intervalHours} hours; Secrets Manager needs at least ${MIN_ROTATION_INTERVAL_HOURS} hours between rotations.`);
  }
  let duration: string | undefined;
  if (options.window !== undefined) {
    const h = options.window.toHours({ integral: false });
    if (!Number.isInteger(h) || h < 1 || h > 24) fail(`window is ${h} hours; it must be whole hours from 1 to 24.`);
    if (h >= intervalHours) {
      fail(`window (${h} hours) must be shorter than the time between rotations (${intervalHours} hours), or two windows overlap.`);
    }
    duration = `${h}h`;
  }
  return { scheduleExpression: expression, duration, intervalHours };
}

/**
 * The shortest gap between two firings of a Secrets Manager cron expression
 * (six fields; the minutes field must be 0). Days are counted as at most one
 * day apart, which is the conservative bound.
 */
function cronIntervalHours(body: string, fail: (msg: string) => never): number {
  const fields = body.trim().split(/\s+/);
  if (fields.length !== 6) fail(`cron(${body}) has ${fields.length} fields; Secrets Manager expects 6: minutes hours day-of-month month day-of-week year.`);
  if (fields[0] !== '0') fail(`cron(${body}): the minutes field is "${fields[0]}"; Secrets Manager requires 0 (rotation starts on the hour).`);
  const hours = expandHours(fields[1], body, fail);
  let min = 24 - hours[hours.length - 1] + hours[0];
  for (let i = 1; i < hours.length; i++) min = Math.min(min, hours[i] - hours[i - 1]);
  return min;
}

function expandHours(field: string, body: string, fail: (msg: string) => never): number[] {
  const set = new Set<number>();
  for (const part of field.split(',')) {
    const m = /^(\*|\d{1,2}(?:-\d{1,2})?)(?:\/(\d{1,2}))?$/.exec(part);
    if (!m) fail(`cron(${body}): cannot read the hours field "${field}".`);
    const [, range, stepRaw] = m!;
    const step = stepRaw ? Number(stepRaw) : 1;
    let lo = 0;
    let hi = 23;
    if (range !== '*') {
      const [a, b] = range.split('-').map(Number);
      lo = a;
      hi = b ?? (stepRaw ? 23 : a);
    }
    if (lo > 23 || hi > 23 || lo > hi || step < 1) fail(`cron(${body}): the hours field "${field}" is out of range 0-23.`);
    for (let h = lo; h <= hi; h += step) set.add(h);
  }
  return [...set].sort((a, b) => a - b);
}
