import { MIN_PASSWORD_LENGTH, passwordForms, redact, REDACTED, scanTexts } from '../support/leak-audit/scanner';

const PASSWORD = 'Xk9"q\\Lm2#pZ7w!vR4';

test('finds a password written as is', () => {
  const r = scanTexts([{ source: 'stdout', text: `connected with ${PASSWORD} to the database\n` }], [PASSWORD]);
  expect(r.leaks).toHaveLength(1);
  expect(r.leaks[0]).toMatchObject({ source: 'stdout', form: 'exact', passwordLength: PASSWORD.length });
  expect(r.passwordsTracked).toBe(1);
});

test('finds a password JSON-escaped in a log line, and escaped twice in a nested JSON string', () => {
  const line = JSON.stringify({ level: 'DEBUG', message: 'step', detail: { value: PASSWORD } });
  const nested = JSON.stringify({ message: line });
  expect(line).not.toContain(PASSWORD);
  const r = scanTexts([{ source: 'stdout', text: line }, { source: 'lifecycle-events', text: nested }], [PASSWORD]);
  expect(r.leaks.map((l) => [l.source, l.form])).toEqual([
    ['stdout', 'json-escaped'],
    ['lifecycle-events', 'json-escaped-twice'],
  ]);
});

test('finds a URL-encoded password in a connection string', () => {
  const r = scanTexts([{ source: 'console', text: `postgres://app:${encodeURIComponent(PASSWORD)}@localhost:5432/db` }], [PASSWORD]);
  expect(r.leaks.map((l) => l.form)).toContain('url-encoded');
});

test('ignores passwords shorter than the minimum and counts them as skipped', () => {
  const short = 'pw1234';
  expect(short.length).toBeLessThan(MIN_PASSWORD_LENGTH);
  const r = scanTexts([{ source: 'stdout', text: `the word ${short} is everywhere ${short}` }], [short, PASSWORD]);
  expect(r.leaks).toEqual([]);
  expect(r.passwordsTracked).toBe(1);
  expect(r.passwordsSkippedShort).toBe(1);
});

test('never puts a password into its report, in any spelling', () => {
  const other = 'another-Secret-9876';
  const text = `a ${other} b ${PASSWORD} c ${JSON.stringify(PASSWORD)} d ${encodeURIComponent(other)}`;
  const r = scanTexts([{ source: 'stdout', text }], [PASSWORD, other]);
  expect(r.leaks.length).toBeGreaterThanOrEqual(3);
  const report = JSON.stringify(r);
  for (const p of [PASSWORD, other]) {
    for (const { needle } of passwordForms(p)) expect(report).not.toContain(needle);
  }
  expect(report).toContain(REDACTED);
});

test('flags password-shaped values it was not told about, but not redacted ones', () => {
  const r = scanTexts(
    [
      { source: 'demo', text: '{"username":"app","password":"unknown-Secret-1"}' },
      { source: 'demo', text: 'postgresql://app:unknownPass99@db:5432/x' },
      { source: 'demo', text: "ALTER ROLE app PASSWORD 'unknownPass77'" },
      { source: 'demo', text: '{"password":"[redacted]"} postgresql://app:****@db/x {"password":""}' },
    ],
    [],
  );
  expect(r.leaks.map((l) => l.form)).toEqual(['pattern:json-password-field', 'pattern:url-userinfo', 'pattern:sql-password-literal']);
  expect(JSON.stringify(r)).not.toMatch(/unknown-Secret-1|unknownPass99|unknownPass77/);
});

test('a password that cannot be URL-encoded (a lone surrogate) is still searched for', () => {
  const odd = 'hostile-\ud800-password';
  const r = scanTexts([{ source: 'stdout', text: `x ${odd} y` }], [odd]);
  expect(r.leaks.map((l) => l.form)).toEqual(['exact']);
});

test('counts lines and bytes per source', () => {
  const r = scanTexts([{ source: 'stdout', text: 'a\nb\n' }, { source: 'stdout', text: 'c' }, { source: 'cli', text: '' }], []);
  expect(r.lines).toBe(3);
  expect(r.sources.stdout).toEqual({ texts: 2, lines: 3, bytes: 5 });
  expect(r.sources.cli.lines).toBe(0);
});

test('redact replaces the longest spelling first', () => {
  expect(redact(`x${PASSWORD}y`, [PASSWORD])).toBe(`x${REDACTED}y`);
});
