import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildReport } from '../support/leak-audit/report';
import { looksHashed, scanTexts } from '../support/leak-audit/scanner';
import { scanMariadbGeneralLog, scanPostgresLog } from '../support/leak-audit/server-logs';
import type { LeakAuditState } from '../support/leak-audit/state';

/** How the leak audit reads the throwaway servers' statement logs (test/support/leak-audit/server-logs.ts). */

const PG_LOG = [
  "2026-12-01 08:00:00.001 UTC [100] LOG:  database system is ready to accept connections",
  "2026-12-01 08:00:00.002 UTC [101] {app=[unknown] user=rotor_admin} LOG:  statement: CREATE ROLE app LOGIN PASSWORD 'fixture-pw-1'",
  "2026-12-01 08:00:00.003 UTC [101] {app=[unknown] user=rotor_admin} LOG:  statement: SELECT 'selected-pw-2'",
  "2026-12-01 08:00:00.004 UTC [102] {app=rotor-rotation user=app} LOG:  statement: ALTER ROLE \"app\" WITH PASSWORD 'plain-pw-3'",
  "2026-12-01 08:00:00.005 UTC [102] {app=rotor-rotation user=app} LOG:  execute <unnamed>: SELECT 1 FROM pg_roles WHERE rolname = $1",
  "2026-12-01 08:00:00.006 UTC [102] {app=rotor-rotation user=app} DETAIL:  parameters: $1 = 'param-pw-4'",
  "2026-12-01 08:00:00.007 UTC [103] {app=psql user=rotor_admin} LOG:  statement: ALTER ROLE app",
  "\tPASSWORD 'fixture-pw-5'",
  "2026-12-01 08:00:00.008 UTC [103] {app=psql user=rotor_admin} LOG:  statement: SELECT 1,",
  "\t'continued-pw-6'",
  '',
].join('\n');

describe('scanPostgresLog', () => {
  test('fixture sessions\' password statements are left out (multi-line too); everything else is kept', () => {
    const scan = scanPostgresLog(PG_LOG);
    expect(scan.fixtureStatements).toBe(2);
    expect(scan.text).not.toContain('fixture-pw-1');
    expect(scan.text).not.toContain('fixture-pw-5');
    // A fixture's SELECT, the function's own password statement, parameters, continuation lines: kept.
    for (const kept of ['selected-pw-2', 'plain-pw-3', 'param-pw-4', 'continued-pw-6', 'ready to accept connections']) expect(scan.text).toContain(kept);
  });
});

const GENERAL_LOG = [
  '/usr/sbin/mariadbd, Version: 10.11.19-MariaDB-0+deb12u1 (Debian 12). started with:',
  'Tcp port: 0  Unix socket: /tmp/x/run/mysqld.sock',
  'Time\t\t    Id Command\tArgument',
  "261201  8:00:26\t     5 Connect\tapp@127.0.0.1 on appdb using TCP/IP",
  "\t\t     5 Query\tSELECT /* rotor-rotation */ VERSION() AS version",
  "\t\t     6 Connect\trotor_admin@127.0.0.1 on appdb using TCP/IP",
  "\t\t     6 Query\tCREATE USER 'u'@'%' IDENTIFIED BY 'fixture-pw-1'",
  "\t\t     5 Query\tSET PASSWORD = PASSWORD('plain-pw-2')",
  "\t\t     6 Query\tSELECT 'selected-pw-3',",
  "'continued-pw-4'",
  '/usr/sbin/mariadbd, Version: 10.11.19-MariaDB-0+deb12u1 (Debian 12). started with:',
  'Tcp port: 0  Unix socket: /tmp/x/run/mysqld.sock',
  'Time\t\t    Id Command\tArgument',
  // After a restart thread ids start again: thread 5 is no longer the function's.
  "261201  8:00:30\t     5 Connect\trotor_admin@127.0.0.1 on appdb using TCP/IP",
  "\t\t     5 Query\tSET PASSWORD FOR 'u'@'%' = PASSWORD('fixture-pw-5')",
  "\t\t     7 Query\tALTER USER 'u'@'%'",
  "  IDENTIFIED BY 'fixture-pw-6'",
  '',
].join('\n');

describe('scanMariadbGeneralLog', () => {
  test('threads that sent the marker are the function\'s: all kept; other threads\' password statements left out', () => {
    const scan = scanMariadbGeneralLog(GENERAL_LOG);
    expect(scan.fixtureStatements).toBe(3);
    for (const gone of ['fixture-pw-1', 'fixture-pw-5', 'fixture-pw-6']) expect(scan.text).not.toContain(gone);
    for (const kept of ['plain-pw-2', 'selected-pw-3', 'continued-pw-4', 'started with']) expect(scan.text).toContain(kept);
  });
});

describe('hashes are not plain-text passwords', () => {
  test('a SQL PASSWORD literal holding a hash is no structural hit; one holding anything else is', () => {
    expect(looksHashed('*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19')).toBe(true);
    expect(looksHashed('SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$c3RvcmVk/2V5+A==:c2VydmVyS2V5')).toBe(true);
    expect(looksHashed('$A$005$abcdefghijklmnopqrstABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq')).toBe(true);
    expect(looksHashed('*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E1')).toBe(false);
    const texts = [
      { source: 'x', text: "CREATE USER 'u'@'%' IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'" },
      { source: 'x', text: "ALTER ROLE \"u\" WITH PASSWORD 'SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy'" },
    ];
    expect(scanTexts(texts, []).leaks).toEqual([]);
    expect(scanTexts([{ source: 'x', text: "ALTER ROLE \"u\" WITH PASSWORD 'not-a-hash-7'" }], []).leaks.map((l) => l.form)).toEqual(['pattern:sql-password-literal']);
  });
});

describe('buildReport', () => {
  test('a server still running when the file ends: its logs are read then and scanned for the file\'s passwords', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rotor-serverlog-'));
    try {
      const logPath = path.join(dir, 'postgres.log');
      fs.writeFileSync(logPath, PG_LOG);
      const server = { tag: 'postgres-server', baseDir: dir, logFiles: () => [{ path: logPath, kind: 'postgres-log' as const }] };
      const state: LeakAuditState = {
        testFile: 'x.test.ts', texts: new Map(), instances: [], problems: [],
        passwords: new Map([['selected-pw-2', 'test'], ['fixture-pw-1', 'test']]),
        servers: new Set([server]),
        serverLogs: { servers: 0, files: 0, bytes: 0, fixtureStatements: 0 },
      };
      const report = buildReport(state);
      expect(report.serverLogs).toEqual({ servers: 1, files: 1, bytes: Buffer.byteLength(PG_LOG), fixtureStatements: 2 });
      // One text scanned: the log without the fixture's two statements (3 of its 10 lines).
      expect(report.sources['server-log:postgres-log']).toEqual({ texts: 1, lines: 7, bytes: Buffer.byteLength(scanPostgresLog(PG_LOG).text) });
      expect(scanPostgresLog(PG_LOG).text).not.toContain('fixture-pw-');
      // The SELECT is a leak; the fixture's CREATE ROLE is not scanned; the function's plaintext ALTER ROLE is a structural hit.
      expect(report.leaks.map((l) => `${l.source} ${l.form}`).sort()).toEqual([
        'server-log:postgres-log exact',
        'server-log:postgres-log pattern:sql-password-literal',
      ]);
      expect(JSON.stringify(report)).not.toContain('selected-pw-2');
      expect(state.servers!.size).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
