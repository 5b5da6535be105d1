import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSecret } from '../../lambda/core/database-secret';
import { RotationError } from '../../lambda/core/errors';
import type { ConnectionSettings } from '../../lambda/rotation/engines/engine';
import * as explain from '../../lambda/rotation/engines/explanations';
import { syncAlternateUser } from '../../lambda/rotation/engines/mysql/alternate-user';
import { accountLabel, mysqlFlavor, splitAccount, text, type MysqlFlavor, type StatementRunner } from '../../lambda/rotation/engines/mysql/common';
import { connectionOptions } from '../../lambda/rotation/engines/mysql/connection';
import { SYNC_CONTEXT, baseMessage, classifyMysqlError } from '../../lambda/rotation/engines/mysql/errors';
import { grantKey, grantStatement, parseGrantLine } from '../../lambda/rotation/engines/mysql/grants';
import { isName, isWord, renderTokens, tokenize } from '../../lambda/rotation/engines/mysql/sql-tokens';

/**
 * The MySQL/MariaDB engine's safety logic that runs without a server: TLS options per mode, the
 * classification of driver errors (category, code, action; password redacted or withheld), the
 * SQL tokenizer and grant-line parser whose output is re-quoted by the driver, and the alternate
 * user name rules. test/rotation/mysql-* run the same paths against a real MariaDB.
 */

const secret: DatabaseSecret = { engine: 'mariadb', host: 'db.example.com', port: 3306, username: 'app', password: 'Sup3r-Secret-Pw', dbname: 'appdb', extra: {} };
const settings = (over: Partial<ConnectionSettings> = {}): ConnectionSettings => ({ tlsMode: 'require', connectTimeoutMs: 3000, statementTimeoutMs: 4000, ...over });

describe('connectionOptions: TLS exactly as asked', () => {
  it('disable: no TLS; the rest of the options', () => {
    const o = connectionOptions(secret, settings({ tlsMode: 'disable' }));
    expect(o.ssl).toBeUndefined();
    expect(o).toMatchObject({
      host: 'db.example.com', port: 3306, user: 'app', password: secret.password, database: 'appdb', connectTimeout: 3000,
      charset: 'UTF8MB4_UNICODE_CI', multipleStatements: false, connectAttributes: { program_name: 'rotor-rotation' },
    });
    expect(typeof o.stream).toBe('function');
  });

  it('require: TLS, neither chain nor name checked', () => {
    expect(connectionOptions(secret, settings()).ssl).toEqual({ rejectUnauthorized: false, verifyIdentity: false });
  });

  it('verify-full: chain and host name checked, default trust store or the CA file given', () => {
    expect(connectionOptions(secret, settings({ tlsMode: 'verify-full' })).ssl).toEqual({ rejectUnauthorized: true, verifyIdentity: true, ca: undefined });
    const dir = mkdtempSync(join(tmpdir(), 'rotor-ca-'));
    try {
      const file = join(dir, 'ca.pem');
      writeFileSync(file, 'PEM-TEXT');
      expect(connectionOptions(secret, settings({ tlsMode: 'verify-full', caFile: file })).ssl).toEqual({ rejectUnauthorized: true, verifyIdentity: true, ca: 'PEM-TEXT' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('classifyMysqlError', () => {
  const s = settings();
  const err = (fields: { errno?: unknown; sqlState?: unknown; code?: unknown; message?: string }) =>
    Object.assign(new Error(fields.message ?? 'x'), fields);
  const server = (errno: number, message = 'x') => err({ errno, sqlState: 'HY000', code: 'ER_X', message });

  it('names the target and what failed; redacts the password and the other secrets', () => {
    const e = classifyMysqlError(server(1045, `Access denied ${secret.password} hash*ABC123`), secret, s, 'log in', ['hash*ABC123']);
    expect(e.message).toContain('MySQL: could not log in as app@db.example.com:3306/appdb: Access denied [REDACTED] [REDACTED]');
    expect(baseMessage({ ...secret, dbname: undefined }, 'w', 't')).toBe('MySQL: could not w as app@db.example.com:3306/: t');
    expect(e.cause).toBeUndefined();
  });

  it('withholds the text of a syntax error of a statement that carries a password (it may quote a fragment)', () => {
    const fragment = "near 'per-Secret' at line 1";
    const withheld = 'the server could not parse the statement (its text is withheld because the statement holds the password)';
    expect(classifyMysqlError(server(1064, `You have an error; ${fragment}`), secret, s, 'set', ['h']).message).toContain(withheld);
    expect(classifyMysqlError(server(1234, `odd; ${fragment}`), secret, s, 'set', ['h']).message).toContain(withheld);
    expect(classifyMysqlError(err({ code: 'X', message: `odd; ${fragment}` }), secret, s, 'set', ['h']).message).toContain(withheld);
    // Without other secrets the statement held no password: the (redacted) text is kept.
    expect(classifyMysqlError(server(1064, `error ${fragment}`), secret, s, 'read').message).toContain(fragment);
    // "linear '" is not "near '".
    expect(classifyMysqlError(server(1234, "linear 'x'"), secret, s, 'set', ['h']).message).toContain("linear 'x'");
    expect(classifyMysqlError(server(1234, "near x"), secret, s, 'set', ['h']).message).toContain('near x');
  });

  it('a syntax error (1064) of a statement with a password is withheld even when its text does not say "near \'"', () => {
    const e = classifyMysqlError(server(1064, "syntax error at 'per-Secret'"), secret, s, 'set', ['h']);
    expect(e.message).toContain('its text is withheld');
    expect(e.message).not.toContain('per-Secret');
    expect(e.code).toBe('1064');
  });

  it('errno counts only with an SQL state and when positive; the driver code is used otherwise', () => {
    expect(classifyMysqlError(err({ errno: 1045, sqlState: '28000', code: 'ER_ACCESS_DENIED_ERROR' }), secret, s, 'log in')).toMatchObject({ category: 'authentication', code: '1045' });
    expect(classifyMysqlError(err({ errno: 1045, code: 'ER_ACCESS_DENIED_ERROR' }), secret, s, 'log in')).toMatchObject({ category: 'configuration', code: 'ER_ACCESS_DENIED_ERROR' });
    expect(classifyMysqlError(err({ errno: 1045, sqlState: 28000, code: 'C' }), secret, s, 'log in').code).toBe('C');
    expect(classifyMysqlError(err({ errno: -1045, sqlState: '28000', code: 'C' }), secret, s, 'log in').code).toBe('C');
    expect(classifyMysqlError(err({ errno: 0, sqlState: '28000', code: 'C' }), secret, s, 'log in').code).toBe('C');
    expect(classifyMysqlError(err({ errno: '1045', sqlState: '28000', code: 'C' }), secret, s, 'log in').code).toBe('C');
    expect(classifyMysqlError(err({ code: 1045 }), secret, s, 'log in').code).toBe('configuration');
  });

  const PERMISSION_DEFAULT = 'The user may not do this; grant the rotating user the needed privilege (its own password needs none; another user\'s needs CREATE USER, or UPDATE on the mysql schema, and SELECT on mysql.user).';
  const UNAVAILABLE = 'The server is not accepting connections right now (too many connections, shutting down or connection lost); retry later.';
  it.each([
    [4151, 'permission', explain.mysqlLocked('app')],
    [3118, 'permission', explain.mysqlLocked('app')],
    [1045, 'authentication', undefined],
    [1698, 'authentication', undefined],
    [1820, 'authentication', undefined],
    [1862, 'authentication', undefined],
    [1836, 'configuration', explain.readOnlyServer()],
    [1049, 'configuration', 'The database named by "dbname" does not exist; fix "dbname" in the secret.'],
    [1044, 'permission', PERMISSION_DEFAULT],
    [1142, 'permission', PERMISSION_DEFAULT],
    [1227, 'permission', PERMISSION_DEFAULT],
    [1410, 'permission', PERMISSION_DEFAULT],
    [1470, 'configuration', 'The user name is longer than the server allows (MySQL 32 characters, MariaDB 80); use a shorter user name in the secret.'],
    [1396, 'configuration', 'The account named in the secret does not exist on the server (user name or host part); fix "username" in the secret or create the user.'],
    [1133, 'configuration', 'The account named in the secret does not exist on the server (user name or host part); fix "username" in the secret or create the user.'],
    [1819, 'configuration', undefined],
    [3024, 'network', 'The statement did not finish within 4000 ms (statement timeout or lock wait); check for locks on the account or raise ROTOR_STATEMENT_TIMEOUT_MS.'],
    [1969, 'network', 'The statement did not finish within 4000 ms (statement timeout or lock wait); check for locks on the account or raise ROTOR_STATEMENT_TIMEOUT_MS.'],
    [1205, 'network', 'The statement did not finish within 4000 ms (statement timeout or lock wait); check for locks on the account or raise ROTOR_STATEMENT_TIMEOUT_MS.'],
    [1040, 'network', UNAVAILABLE],
    [1053, 'network', UNAVAILABLE],
    [2013, 'network', UNAVAILABLE],
    [1129, 'network', 'The server blocks the function\'s host after too many connection errors; run FLUSH HOSTS (or raise max_connect_errors) on the server.'],
    [9999, 'configuration', 'Unexpected database error; check the database log around this time.'],
  ])('errno %s -> %s', (errno, category, action) => {
    const e = classifyMysqlError(server(errno), secret, s, 'do it');
    expect(e.category).toBe(category);
    expect(e.code).toBe(String(errno));
    if (action !== undefined) expect(e.action).toBe(action);
  });

  it('the authentication, expiry and password-policy actions say what to do', () => {
    expect(classifyMysqlError(server(1045), secret, s, 'log in').action).toContain('not valid for that user');
    expect(classifyMysqlError(server(1862), secret, s, 'log in').action).toContain('has expired');
    expect(classifyMysqlError(server(1819), secret, s, 'set').action).toContain('strict_password_validation');
  });

  it('1290 is read-only only when the server says so', () => {
    expect(classifyMysqlError(server(1290, 'running with the --read-only option'), secret, s, 'set').action).toBe(explain.readOnlyServer());
    expect(classifyMysqlError(server(1290, 'running with the --super-read_only option'), secret, s, 'set').action).toBe(explain.readOnlyServer());
    expect(classifyMysqlError(server(1290, 'running with the --skip-grant-tables option'), secret, s, 'set').action).not.toBe(explain.readOnlyServer());
  });

  it('"read only" in the text of another error number is not a read-only server', () => {
    const e = classifyMysqlError(server(1142, "UPDATE command denied to user 'app'@'%' for table 'read_only_flags'"), secret, s, 'update');
    expect(e).toMatchObject({ category: 'permission', code: '1142', action: PERMISSION_DEFAULT });
    expect(classifyMysqlError(server(9999, 'read only'), secret, s, 'set').action).toBe('Unexpected database error; check the database log around this time.');
  });

  it('in a logged-in session, access denied is a missing privilege; the context names it', () => {
    expect(classifyMysqlError(server(1045), secret, s, 'grant', [], { loggedIn: true })).toMatchObject({ category: 'permission', action: 'The user may not do this; grant it the needed privilege.' });
    expect(classifyMysqlError(server(1698), secret, s, 'grant', [], SYNC_CONTEXT)).toMatchObject({ category: 'permission', action: SYNC_CONTEXT.permissionAction });
    expect(classifyMysqlError(server(1045), secret, s, 'grant', [], { permissionAction: 'P' }).category).toBe('authentication');
    // A locked account stays locked whoever asks.
    expect(classifyMysqlError(server(4151), secret, s, 'grant', [], SYNC_CONTEXT).action).toBe(explain.mysqlLocked('app'));
  });

  it('the context\'s permission and account actions replace the defaults', () => {
    expect(classifyMysqlError(server(1142), secret, s, 'grant', [], { permissionAction: 'P' }).action).toBe('P');
    expect(classifyMysqlError(server(1396), secret, s, 'create', [], { accountAction: 'A' })).toMatchObject({ category: 'configuration', action: 'A' });
    expect(classifyMysqlError(server(1133), secret, s, 'create', [], { accountAction: 'A' }).action).toBe('A');
  });

  it('the account action is only for 1396/1133: other errors of the same statement keep their own category', () => {
    const timeout = classifyMysqlError(server(1205), secret, s, 'create', [], SYNC_CONTEXT);
    expect(timeout).toMatchObject({ category: 'network', code: '1205' });
    expect(timeout.action).toContain('did not finish within 4000 ms');
    expect(classifyMysqlError(server(1040), secret, s, 'create', [], { accountAction: 'A' })).toMatchObject({ category: 'network', action: UNAVAILABLE });
    expect(classifyMysqlError(server(9999), secret, s, 'create', [], { accountAction: 'A' }).action).toBe('Unexpected database error; check the database log around this time.');
  });

  it.each([
    ['PROTOCOL_SEQUENCE_TIMEOUT', 'Query inactivity timeout', 'network', 'The statement did not finish within 4000 ms; check for locks on the account or raise ROTOR_STATEMENT_TIMEOUT_MS.'],
    ['HANDSHAKE_NO_SSL_SUPPORT', 'Server does not support secure connnection', 'tls', explain.tlsFailed('require')],
    ['HANDSHAKE_SSL_ERROR', 'x', 'tls', explain.tlsFailed('require')],
    ['CERT_HAS_EXPIRED', 'x', 'tls', explain.tlsFailed('require')],
    [undefined, 'SSL routines failed', 'tls', explain.tlsFailed('require')],
    [undefined, 'TLS alert', 'tls', explain.tlsFailed('require')],
    [undefined, 'self signed certificate', 'tls', explain.tlsFailed('require')],
    [undefined, 'the server requires a SECURE CONNECTION', 'tls', explain.tlsFailed('require')],
    ['ECONNREFUSED', 'connect ECONNREFUSED', 'network', explain.connectionRefused()],
    ['ENOTFOUND', 'x', 'network', explain.dnsFailed()],
    ['EAI_AGAIN', 'x', 'network', explain.dnsFailed()],
    ['ECONNRESET', 'x', 'network', explain.unreachable(3000)],
    ['PROTOCOL_CONNECTION_LOST', 'x', 'network', explain.unreachable(3000)],
    ['ETIMEDOUT', 'x', 'network', explain.unreachable(3000)],
    [undefined, 'connect TIMEOUT', 'network', explain.unreachable(3000)],
    [undefined, 'the connection timed out', 'network', explain.unreachable(3000)],
    [undefined, 'The server closed the connection.', 'network', explain.unreachable(3000)],
    [undefined, 'Connection lost: x', 'network', explain.unreachable(3000)],
    ['MYSQL_CLEAR_PASSWORD_NOT_ENABLED', 'x', 'configuration', 'The account uses an authentication plugin the function does not support (supported: mysql_native_password, caching_sha2_password, sha256_password); change the account\'s plugin.'],
    [undefined, 'Server requests authentication using UNKNOWN PLUGIN auth_pam', 'configuration', 'The account uses an authentication plugin the function does not support (supported: mysql_native_password, caching_sha2_password, sha256_password); change the account\'s plugin.'],
    ['ER_WHATEVER', 'x', 'configuration', 'Unexpected database error; check the database log around this time.'],
  ])('driver code %s, "%s" -> %s', (code, message, category, action) => {
    const e = classifyMysqlError(err({ code, message }), secret, s, 'log in');
    expect(e.category).toBe(category);
    expect(e.code).toBe(code ?? category);
    expect(e.action).toBe(action);
  });

  it('TLS failures under verify-full get the verify-full explanation; the text is read after redaction', () => {
    expect(classifyMysqlError(err({ code: 'HANDSHAKE_SSL_ERROR' }), secret, settings({ tlsMode: 'verify-full' }), 'log in').action).toBe(explain.tlsFailed('verify-full'));
    const pw = { ...secret, password: 'SSL-TLS-timeout-pw' };
    expect(classifyMysqlError(err({ code: 'X', message: 'saw SSL-TLS-timeout-pw' }), pw, s, 'log in').category).toBe('configuration');
  });

  it('null and strings are classified without a crash', () => {
    expect(classifyMysqlError(null, secret, s, 'log in').message).toContain(': null');
    expect(classifyMysqlError('plain', secret, s, 'log in').message).toContain(': plain');
  });
});

describe('common helpers', () => {
  it.each([
    ['10.11.6-MariaDB-log', 'mariadb'],
    ['5.5.5-10.6.12-mariadb', 'mariadb'],
    ['8.0.35', 'mysql8'],
    ['8.0.mysql_aurora.3.05.2', 'mysql8'],
    ['9.1.0', 'mysql8'],
    ['10.5.0', 'mysql8'],
    ['5.7.44-log', 'mysql57'],
    ['5.7.mysql_aurora.2.11.2', 'mysql57'],
    ['abc-12.3', 'mysql57'],
    ['8', 'mysql57'],
    ['', 'mysql57'],
  ])('mysqlFlavor(%s) = %s', (version, flavor) => {
    expect(mysqlFlavor(version)).toBe(flavor);
  });

  it('splitAccount splits at the last @', () => {
    expect(splitAccount('app@%')).toEqual({ user: 'app', host: '%' });
    expect(splitAccount('a@b@10.0.0.%')).toEqual({ user: 'a@b', host: '10.0.0.%' });
    expect(splitAccount('noat')).toEqual({ user: 'noat', host: '' });
    expect(splitAccount('@localhost')).toEqual({ user: '', host: 'localhost' });
    expect(splitAccount('app@')).toEqual({ user: 'app', host: '' });
  });

  it('accountLabel quotes both parts; text() reads null, Buffers and numbers', () => {
    expect(accountLabel('a"b', '%')).toBe('"a\\"b"@"%"');
    expect(text(null)).toBe('');
    expect(text(undefined)).toBe('');
    expect(text(Buffer.from('AES256-SHA', 'utf8'))).toBe('AES256-SHA');
    expect(text(0)).toBe('0');
    expect(text('x')).toBe('x');
  });
});

describe('tokenize / renderTokens (grant lines are rebuilt from tokens and re-quoted by the driver)', () => {
  it('splits words, identifiers, strings and punctuation; skips white space', () => {
    expect(tokenize("GRANT SELECT ON `db`.* TO 'app'@'%'", false)).toEqual([
      { type: 'word', value: 'GRANT' }, { type: 'word', value: 'SELECT' }, { type: 'word', value: 'ON' },
      { type: 'ident', value: 'db' }, { type: 'punct', value: '.' }, { type: 'punct', value: '*' },
      { type: 'word', value: 'TO' }, { type: 'string', value: 'app' }, { type: 'punct', value: '@' }, { type: 'string', value: '%' },
    ]);
    expect(tokenize(' \t\nab_1$x ', false)).toEqual([{ type: 'word', value: 'ab_1$x' }]);
    expect(tokenize('', false)).toEqual([]);
  });

  it('decodes doubled quotes and backslash escapes in strings, not in identifiers', () => {
    expect(tokenize("'it''s'", false)).toEqual([{ type: 'string', value: "it's" }]);
    expect(tokenize("'a\\'b\\\\c\\nd\\0e\\%f\\_g\\qh'", false)).toEqual([{ type: 'string', value: "a'b\\c\nd\0e\\%f\\_gqh" }]);
    expect(tokenize('`we``ird\\n`', false)).toEqual([{ type: 'ident', value: 'we`ird\\n' }]);
    expect(tokenize('"a""b"', false)).toEqual([{ type: 'string', value: 'a"b' }]);
  });

  it('with ANSI_QUOTES, "x" is an identifier', () => {
    expect(tokenize('"my db"', true)).toEqual([{ type: 'ident', value: 'my db' }]);
    expect(tokenize("'s'", true)).toEqual([{ type: 'string', value: 's' }]);
  });

  it('two quoted texts side by side stay two tokens', () => {
    expect(tokenize("'a''' 'b'", false)).toEqual([{ type: 'string', value: "a'" }, { type: 'string', value: 'b' }]);
    expect(tokenize('`a``b`', false)).toEqual([{ type: 'ident', value: 'a`b' }]);
    expect(tokenize("'a'x", false)).toEqual([{ type: 'string', value: 'a' }, { type: 'word', value: 'x' }]);
  });

  it.each(["'abc", '`abc', "'abc\\", "'abc\\'", "'"])('refuses unterminated text %s', (sql) => {
    expect(() => tokenize(sql, false)).toThrow('unterminated quoted text');
  });

  it('reads a long word whole', () => {
    const long = 'x'.repeat(300);
    expect(tokenize(long, false).map((t) => t.value).join('')).toBe(long);
  });

  it('isWord is case-insensitive and only for words; isName for identifiers and strings', () => {
    expect(isWord({ type: 'word', value: 'grant' }, 'GRANT')).toBe(true);
    expect(isWord({ type: 'ident', value: 'GRANT' }, 'GRANT')).toBe(false);
    expect(isWord(undefined, 'GRANT')).toBe(false);
    expect(isName({ type: 'ident', value: 'x' })).toBe(true);
    expect(isName({ type: 'string', value: 'x' })).toBe(true);
    expect(isName({ type: 'word', value: 'x' })).toBe(false);
    expect(isName(undefined)).toBe(false);
  });

  it('renders identifiers and strings through the driver\'s escaping, with SQL spacing', () => {
    expect(renderTokens(tokenize("SELECT , INSERT ( `c``1` , c2 ) ON `d`.`t` 'r' @ 'h'", false)))
      .toBe("SELECT, INSERT (`c``1`, c2) ON `d`.`t` 'r'@'h'");
    // A hostile identifier or string cannot end its quotes.
    expect(renderTokens([{ type: 'ident', value: 'x` ; DROP USER root; --' }, { type: 'string', value: "y' OR '1" }]))
      .toBe("`x`` ; DROP USER root; --` 'y\\' OR \\'1'");
    expect(renderTokens([])).toBe('');
  });

  it('an identifier with a dot in it stays one identifier (never split into db.table)', () => {
    expect(renderTokens(tokenize('`my.db`.`t.1`', false))).toBe('`my.db`.`t.1`');
    expect(renderTokens([{ type: 'ident', value: 'a.b' }])).toBe('`a.b`');
  });

  it('strings and identifiers whose value is punctuation keep their space: adjacent quoted texts never merge', () => {
    // Without the space, 'a'',' would read as the one string "a',".
    expect(renderTokens([{ type: 'string', value: 'a' }, { type: 'string', value: ',' }])).toBe("'a' ','");
    expect(renderTokens([{ type: 'string', value: 'a' }, { type: 'string', value: '@' }, { type: 'string', value: 'h' }])).toBe("'a' '@' 'h'");
    expect(renderTokens([{ type: 'word', value: 'SELECT' }, { type: 'ident', value: '.' }, { type: 'ident', value: ')' }])).toBe('SELECT `.` `)`');
    expect(renderTokens([{ type: 'ident', value: '(' }, { type: 'word', value: 'x' }])).toBe('`(` x');
    // The same punctuation as punct tokens is written tight.
    expect(renderTokens(tokenize("'a'@'h'", false))).toBe("'a'@'h'");
  });
});

describe('parseGrantLine', () => {
  const app = { user: 'app', host: '%' };

  it('privileges, with WITH GRANT OPTION kept and everything after the grantee dropped', () => {
    expect(parseGrantLine("GRANT SELECT, INSERT ON `db`.* TO `app`@`%` IDENTIFIED BY PASSWORD '*ABC' WITH GRANT OPTION", app))
      .toEqual({ kind: 'privileges', what: 'SELECT, INSERT ON `db`.*', grantOption: true, adminOption: false });
    expect(parseGrantLine("GRANT ALL PRIVILEGES ON *.* TO 'app'@'%'", app))
      .toEqual({ kind: 'privileges', what: 'ALL PRIVILEGES ON *.*', grantOption: false, adminOption: false });
  });

  it('USAGE alone is nothing to copy; USAGE WITH GRANT OPTION is', () => {
    expect(parseGrantLine("GRANT USAGE ON *.* TO 'app'@'%' IDENTIFIED BY PASSWORD '*ABC'", app)).toBeNull();
    expect(parseGrantLine("GRANT USAGE ON *.* TO 'app'@'%' WITH GRANT OPTION", app)).toEqual({ kind: 'privileges', what: 'USAGE ON *.*', grantOption: true, adminOption: false });
    expect(parseGrantLine("GRANT SELECT ON *.* TO 'app'@'%'", app)?.kind).toBe('privileges');
  });

  it('only a GRANT of USAGE alone ON something is skipped: USAGE among other privileges, or a REVOKE of it, is kept', () => {
    expect(parseGrantLine("GRANT USAGE, SELECT ON *.* TO 'app'@'%'", app))
      .toEqual({ kind: 'privileges', what: 'USAGE, SELECT ON *.*', grantOption: false, adminOption: false });
    expect(parseGrantLine("REVOKE USAGE ON *.* FROM 'app'@'%'", app))
      .toEqual({ kind: 'restriction', what: 'USAGE ON *.*', grantOption: false, adminOption: false });
  });

  it('roles, with WITH ADMIN OPTION (and no grant option)', () => {
    expect(parseGrantLine("GRANT `r1`@`%`, 'r2' TO 'app'@'%' WITH ADMIN OPTION", app))
      .toEqual({ kind: 'role', what: '`r1`@`%`, \'r2\'', grantOption: false, adminOption: true });
    expect(parseGrantLine("GRANT 'r1' TO 'app'@'%' WITH GRANT OPTION", app))
      .toEqual({ kind: 'role', what: "'r1'", grantOption: false, adminOption: false });
  });

  it('WITH ADMIN OPTION counts for roles only; on a privilege or proxy line it is not copied', () => {
    expect(parseGrantLine("GRANT SELECT ON *.* TO 'app'@'%' WITH ADMIN OPTION", app))
      .toEqual({ kind: 'privileges', what: 'SELECT ON *.*', grantOption: false, adminOption: false });
    expect(parseGrantLine("GRANT PROXY ON ''@'' TO 'app'@'%' WITH ADMIN OPTION", app)?.adminOption).toBe(false);
    expect(parseGrantLine("REVOKE SELECT ON *.* FROM 'app'@'%' WITH ADMIN OPTION", app)?.adminOption).toBe(false);
  });

  it('options are read after the grantee only: a GRANT OPTION privilege in the list is part of what is granted', () => {
    expect(parseGrantLine("GRANT GRANT OPTION ON t TO 'app'@'%'", app))
      .toEqual({ kind: 'privileges', what: 'GRANT OPTION ON t', grantOption: false, adminOption: false });
    expect(parseGrantLine("GRANT SELECT, GRANT OPTION ON `d`.* TO 'app'@'%'", app)?.grantOption).toBe(false);
    expect(parseGrantLine("GRANT GRANT OPTION ON t TO 'app'@'%' WITH GRANT OPTION", app)?.grantOption).toBe(true);
  });

  it('proxy grants and MySQL partial revokes', () => {
    expect(parseGrantLine("GRANT PROXY ON ''@'' TO 'app'@'%' WITH GRANT OPTION", app))
      .toEqual({ kind: 'proxy', what: "PROXY ON ''@''", grantOption: true, adminOption: false });
    expect(parseGrantLine("REVOKE INSERT ON `mysql`.* FROM `app`@`%`", app))
      .toEqual({ kind: 'restriction', what: 'INSERT ON `mysql`.*', grantOption: false, adminOption: false });
    expect(parseGrantLine("revoke insert on `mysql`.* from `app`@`%` WITH GRANT OPTION", app)?.grantOption).toBe(false);
    // PROXY not followed directly by ON is a privilege list.
    expect(parseGrantLine("GRANT PROXY, SELECT ON *.* TO 'app'@'%'", app)?.kind).toBe('privileges');
  });

  it('ADMIN without OPTION, or OPTION elsewhere, is no option', () => {
    expect(parseGrantLine("GRANT 'r1' TO 'app'@'%' WITH ADMIN", app)?.adminOption).toBe(false);
    expect(parseGrantLine("GRANT SELECT ON *.* TO 'app'@'%' WITH GRANT", app)?.grantOption).toBe(false);
    expect(parseGrantLine("GRANT SELECT ON *.* TO 'app'@'%' OPTION GRANT", app)?.grantOption).toBe(false);
  });

  it('SET DEFAULT ROLE lines are nothing to copy; other SET lines are refused', () => {
    expect(parseGrantLine("SET DEFAULT ROLE 'r1' FOR 'app'@'%'", app)).toBeNull();
    expect(() => parseGrantLine("SET PASSWORD FOR 'app'@'%' = 'x'", app)).toThrow('a SET line that is not SET DEFAULT ROLE');
    expect(() => parseGrantLine("SET DEFAULT 'x'", app)).toThrow('a SET line');
  });

  it('the grantee must be exactly the account asked for, as tokens', () => {
    expect(() => parseGrantLine("GRANT SELECT ON `app`.* TO 'other'@'%'", app)).toThrow('the grantee is another account');
    expect(() => parseGrantLine("GRANT SELECT ON *.* TO 'app'@'localhost'", app)).toThrow('the grantee is another account');
    expect(() => parseGrantLine("GRANT SELECT ON *.* TO app@'%'", app)).toThrow('the grantee is not user@host');
    expect(() => parseGrantLine("GRANT SELECT ON *.* TO 'app'.'%'", app)).toThrow('the grantee is not user@host');
    expect(() => parseGrantLine("GRANT SELECT ON *.* TO 'app' '%'", app)).toThrow('the grantee is not user@host');
    expect(() => parseGrantLine("GRANT SELECT ON *.* TO 'app'@%", app)).toThrow('the grantee is not user@host');
    expect(() => parseGrantLine("GRANT SELECT ON *.* TO 'app'@", app)).toThrow('the grantee is not user@host');
    expect(parseGrantLine('GRANT SELECT ON *.* TO "app"@"%"', app)?.kind).toBe('privileges');
    expect(parseGrantLine('GRANT SELECT ON "d".* TO "app"@"%"', app, { ansiQuotes: true })?.what).toBe('SELECT ON `d`.*');
    // Without ANSI_QUOTES (the default) "x" is a string, re-quoted as one.
    expect(parseGrantLine('GRANT "r1"@"%" TO "app"@"%"', app)?.what).toBe("'r1'@'%'");
    expect(parseGrantLine('GRANT "r1"@"%" TO "app"@"%"', app, {})?.what).toBe("'r1'@'%'");
    expect(parseGrantLine('GRANT "r1"@"%" TO "app"@"%"', app, { ansiQuotes: true })?.what).toBe('`r1`@`%`');
    // The separator must be the punctuation @, not a quoted '@'; a grantee cut short is refused as well.
    expect(() => parseGrantLine("GRANT SELECT ON *.* TO 'app' '@' '%'", app)).toThrow('the grantee is not user@host');
    expect(() => parseGrantLine("GRANT SELECT ON *.* TO 'app' `@` '%'", app)).toThrow('the grantee is not user@host');
    expect(() => parseGrantLine("GRANT SELECT ON *.* TO 'app'", app)).toThrow('the grantee is not user@host');
  });

  it('refuses other shapes', () => {
    expect(() => parseGrantLine('CREATE USER x', app)).toThrow('neither GRANT nor REVOKE');
    expect(() => parseGrantLine("GRANT SELECT ON *.* FROM 'app'@'%'", app)).toThrow('no TO clause');
    expect(() => parseGrantLine("REVOKE SELECT ON *.* TO 'app'@'%'", app)).toThrow('no FROM clause');
    expect(() => parseGrantLine("GRANT TO 'app'@'%'", app)).toThrow('nothing granted');
    expect(() => parseGrantLine("GRANT SELECT ON 1db.* TO 'app'@'%'", app)).toThrow('an unexpected word');
    expect(() => parseGrantLine("GRANT SELECT ON d$b.* TO 'app'@'%'", app)).toThrow('an unexpected word');
    expect(() => parseGrantLine("GRANT SELECT$ ON *.* TO 'app'@'%'", app)).toThrow('an unexpected word');
    expect(() => parseGrantLine("GRANT ON `d`.* TO 'app'@'%'", app)).toThrow('an unexpected role list');
    expect(() => parseGrantLine("GRANT SELECT ON *.*; DROP TO 'app'@'%'", app)).toThrow('an unexpected character');
    expect(() => parseGrantLine("REVOKE SELECT FROM 'app'@'%'", app)).toThrow('a REVOKE line without ON');
    expect(() => parseGrantLine("REVOKE ON x FROM 'app'@'%'", app)).toThrow('a REVOKE line without ON');
    expect(() => parseGrantLine("GRANT 'r1' * TO 'app'@'%'", app)).toThrow('an unexpected role list');
    expect(() => parseGrantLine("GRANT SELECT TO 'app'@'%'", app)).toThrow('an unexpected role list');
  });

  it('allowed head punctuation: , ( ) . * @', () => {
    expect(parseGrantLine("GRANT SELECT (`a`, `b`) ON `d`.`t` TO 'app'@'%'", app)?.what).toBe('SELECT (`a`, `b`) ON `d`.`t`');
    expect(parseGrantLine("GRANT SELECT ON `my.db`.`t` TO 'app'@'%'", app)?.what).toBe('SELECT ON `my.db`.`t`');
  });

  it('grantKey and grantStatement', () => {
    const g = { kind: 'privileges' as const, what: 'SELECT ON *.*', grantOption: true, adminOption: false };
    expect(grantKey(g)).toBe('privileges SELECT ON *.* WITH GRANT OPTION');
    expect(grantStatement(g)).toBe('GRANT SELECT ON *.* TO ?@? WITH GRANT OPTION');
    const r = { kind: 'role' as const, what: "'r'", grantOption: false, adminOption: true };
    expect(grantKey(r)).toBe("role 'r' WITH ADMIN OPTION");
    expect(grantStatement(r)).toBe("GRANT 'r' TO ?@? WITH ADMIN OPTION");
    const plain = { kind: 'proxy' as const, what: "PROXY ON ''@''", grantOption: false, adminOption: false };
    expect(grantKey(plain)).toBe("proxy PROXY ON ''@''");
    expect(grantStatement(plain)).toBe("GRANT PROXY ON ''@'' TO ?@?");
    expect(grantStatement({ kind: 'restriction', what: 'INSERT ON `mysql`.*', grantOption: true, adminOption: true })).toBe('REVOKE INSERT ON `mysql`.* FROM ?@?');
  });
});

describe('alternate user name rules (MySQL/MariaDB syncAlternateUser, before any statement)', () => {
  function runner(flavor: MysqlFlavor): StatementRunner & { statements: string[] } {
    const statements: string[] = [];
    return {
      statements,
      flavor,
      account: { user: 'master', host: '%' },
      ansiQuotes: false,
      async run(_w: string, sql: string) {
        statements.push(sql);
        return {};
      },
      async rows(_w: string, sql: string) {
        statements.push(sql);
        return [];
      },
      error(category, code, what, txt, action) {
        return new RotationError({ category, code, message: `MySQL: could not ${what}: ${txt}`, action });
      },
      escape: (v: string) => `'${v}'`,
    };
  }
  async function codeOf(flavor: MysqlFlavor, target: string, source: string): Promise<string | undefined> {
    const db = runner(flavor);
    try {
      await syncAlternateUser(db, { target, source, baseUser: source, password: 'new-password' });
    } catch (e) {
      if (!(e instanceof RotationError)) throw e;
      // Refused by name: before any statement.
      if (e.code !== 'NO_SUCH_USER') expect(db.statements).toEqual([]);
      return e.code;
    }
    return undefined;
  }

  it.each([
    ['an empty target', '', 'app', 'INVALID_USERNAME'],
    ['an empty source', 'app_clone', '', 'INVALID_USERNAME'],
    ['the same user', 'app', 'app', 'SAME_USER'],
    ['the master as target', 'master', 'app', 'TARGET_IS_MASTER'],
  ])('refuses %s', async (_what, target, source, code) => {
    expect(await codeOf('mariadb', target, source)).toBe(code);
  });

  it('accepts two distinct non-master names (then looks the source up)', async () => {
    expect(await codeOf('mariadb', 'app_clone', 'app')).toBe('NO_SUCH_USER');
    expect(await codeOf('mysql8', 'master_clone', 'master')).toBe('NO_SUCH_USER');
  });

  it('MariaDB: 80 characters (code points) at most; MySQL 32', async () => {
    expect(await codeOf('mariadb', 'é'.repeat(80), 'app')).toBe('NO_SUCH_USER');
    expect(await codeOf('mariadb', 'é'.repeat(81), 'app')).toBe('USERNAME_TOO_LONG');
    expect(await codeOf('mysql8', '😀'.repeat(32), 'app')).toBe('NO_SUCH_USER');
    expect(await codeOf('mysql8', 'a'.repeat(33), 'app')).toBe('USERNAME_TOO_LONG');
    expect(await codeOf('mysql57', 'a'.repeat(33), 'app')).toBe('USERNAME_TOO_LONG');
  });

  it('the too-long message names the server and its limit', async () => {
    const db = runner('mysql57');
    await expect(syncAlternateUser(db, { target: 'a'.repeat(40), source: 'app', baseUser: 'app', password: 'p' }))
      .rejects.toThrow('the alternate user name is 40 characters long; MySQL allows at most 32');
    await expect(syncAlternateUser(runner('mariadb'), { target: 'a'.repeat(90), source: 'app', baseUser: 'app', password: 'p' }))
      .rejects.toThrow('MariaDB allows at most 80');
  });
});
