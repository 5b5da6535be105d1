import { nextRotationDate, normalizeRotationRules, parseCron, cronOccurrences } from '../../local/secrets-manager/schedule';

/* Rotation schedules: https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_schedule.html */

const at = (iso: string) => Date.parse(iso);
const next = (rules: Parameters<typeof normalizeRotationRules>[0], base: string) =>
  new Date(nextRotationDate(normalizeRotationRules(rules, at(base)), at(base))!).toISOString();

test.each([
  [{ AutomaticallyAfterDays: 30 }, '2030-03-10T10:30:00Z', '2030-04-09T23:59:59.000Z'],
  [{ AutomaticallyAfterDays: 1, Duration: '3h' }, '2030-03-10T10:30:00Z', '2030-03-11T02:59:59.000Z'],
  [{ ScheduleExpression: 'rate(10 days)' }, '2030-03-10T10:30:00Z', '2030-03-20T23:59:59.000Z'],
  [{ ScheduleExpression: 'rate(4 hours)' }, '2030-03-10T10:30:00Z', '2030-03-10T12:59:59.000Z'],
  [{ ScheduleExpression: 'rate(10 hours)', Duration: '2h' }, '2030-03-10T21:00:00Z', '2030-03-11T01:59:59.000Z'],
  [{ ScheduleExpression: 'cron(0 16 1,15 * ? *)', Duration: '2h' }, '2030-03-10T10:30:00Z', '2030-03-15T17:59:59.000Z'],
  [{ ScheduleExpression: 'cron(0 8 ? * MON-FRI *)' }, '2030-03-09T10:30:00Z', '2030-03-11T23:59:59.000Z'], // Saturday -> Monday, window to end of day
  [{ ScheduleExpression: 'cron(0 */4 * * ? *)' }, '2030-03-10T10:30:00Z', '2030-03-10T12:59:59.000Z'], // hours schedule: 1h window
  [{ ScheduleExpression: 'cron(0 0 ? * SUN#1 *)' }, '2030-03-10T10:30:00Z', '2030-04-07T23:59:59.000Z'],
  [{ ScheduleExpression: 'cron(0 17 L * ? *)' }, '2030-02-10T00:00:00Z', '2030-02-28T23:59:59.000Z'],
  [{ ScheduleExpression: 'cron(0 9 ? * 6L *)' }, '2030-03-01T00:00:00Z', '2030-03-29T23:59:59.000Z'], // last Friday of March 2030
])('%j after %s: the next window ends %s', (rules, base, expected) => {
  expect(next(rules, base)).toBe(expected);
});

test('AutomaticallyAfterDays is derived from a schedule expression', () => {
  expect(normalizeRotationRules({ ScheduleExpression: 'rate(10 hours)' }, Date.now()).rules.AutomaticallyAfterDays).toBe(1);
  expect(normalizeRotationRules({ ScheduleExpression: 'rate(12 days)' }, Date.now()).rules.AutomaticallyAfterDays).toBe(12);
  expect(normalizeRotationRules({ ScheduleExpression: 'cron(0 10 ? * MON *)' }, Date.now()).rules.AutomaticallyAfterDays).toBe(7);
});

test('cron parsing: names, ranges, steps, lists', () => {
  const c = parseCron('0 8-20/6 ? JAN,JUL MON-FRI *');
  expect(c.hours).toEqual([8, 14, 20]);
  expect([...c.months]).toEqual([1, 7]);
  const occurrences = [...cronOccurrences(c, at('2030-01-01T00:00:00Z'), at('2030-01-02T00:00:00Z'))].map((t) => new Date(t).toISOString());
  expect(occurrences).toEqual(['2030-01-01T08:00:00.000Z', '2030-01-01T14:00:00.000Z', '2030-01-01T20:00:00.000Z']);
  expect(() => parseCron('0 8 * * ? * *')).toThrow(/6 fields/);
  expect(() => parseCron('0 8 * 13 ? *')).toThrow(/Month/);
  expect(() => parseCron('0 8 ? * FUNDAY *')).toThrow(/Day-of-week/);
});
