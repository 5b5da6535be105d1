/**
 * The leak audit's hooks inside a test file (jest setupFilesAfterEnv). The
 * environment (environment.js) captures stdout/stderr and, after the file's
 * last afterAll, calls `state.finish` (set here) to scan; this module adds
 * what does not pass through those streams and learns the passwords to
 * search for. Every hook only observes: values and errors pass
 * through unchanged.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager } from '../../../local/local-secrets-manager';
import { tapFunctionOutput } from '../../../local/lambda/output-tap';
import { SecretStore } from '../../../local/secrets-manager/store';
import type { SecretRecord, VersionRecord } from '../../../local/secrets-manager/model';
import * as randomPasswords from '../../../local/secrets-manager/random-password';
import * as rdsPasswords from '../../../local/rds/passwords';
import * as throwaway from '../../../local/throwaway-server';
import { buildReport } from './report';
import { readServerLogs } from './server-logs';
import { auditState, passwordsInSecretString, recordOutput, recordPassword } from './state';

const state = auditState();

if (state) {
  state.finish = () => buildReport(state);

  /** Replaces `owner[name]` (a function) with a wrapper; a missing function is reported, not ignored. */
  const wrap = <T extends object>(owner: T, name: string, label: string, make: (original: (...a: any[]) => any) => (...a: any[]) => any) => {
    const original = (owner as Record<string, unknown>)[name];
    if (typeof original !== 'function') {
      state.problems.push(`${label} is not a function any more; the leak audit cannot hook it (update test/support/leak-audit/capture.ts)`);
      return;
    }
    try {
      (owner as Record<string, unknown>)[name] = make(original as (...a: any[]) => any);
    } catch (e) {
      state.problems.push(`${label} could not be wrapped: ${(e as Error).message}`);
    }
  };

  // console.* output: jest's console keeps every message it prints; read when the file ends (not wrapped, so jest still shows the caller's line).
  state.console = console;

  // Passwords stored in any local Secrets Manager: every version as it is created, loaded or inserted.
  const harvestVersion = (v: VersionRecord | undefined) => {
    for (const p of passwordsInSecretString(v?.secretString)) recordPassword(p, 'secret-version');
  };
  const harvestSecret = (s: SecretRecord | undefined) => {
    for (const v of s?.versions ?? []) harvestVersion(v);
  };
  wrap(SecretStore.prototype, 'addVersion', 'SecretStore.prototype.addVersion', (original) => function (this: unknown, secret: SecretRecord, version: VersionRecord, ...rest: unknown[]) {
    harvestVersion(version);
    return original.call(this, secret, version, ...rest);
  });
  wrap(SecretStore.prototype, 'insert', 'SecretStore.prototype.insert', (original) => function (this: unknown, secret: SecretRecord, ...rest: unknown[]) {
    harvestSecret(secret);
    return original.call(this, secret, ...rest);
  });
  wrap(SecretStore.prototype, 'load', 'SecretStore.prototype.load', (original) => function (this: unknown, persisted: { secrets?: SecretRecord[] }, ...rest: unknown[]) {
    for (const s of persisted?.secrets ?? []) harvestSecret(s);
    return original.call(this, persisted, ...rest);
  });
  // GetRandomPassword results, the throwaway servers' superuser passwords, RDS master passwords.
  wrap(randomPasswords, 'generatePassword', 'random-password generatePassword', (original) => function (this: unknown, ...args: unknown[]) {
    const p = original.apply(this, args);
    recordPassword(p, 'get-random-password');
    return p;
  });
  wrap(throwaway, 'randomPassword', 'throwaway-server randomPassword', (original) => function (this: unknown, ...args: unknown[]) {
    const p = original.apply(this, args);
    recordPassword(p, 'database-server');
    return p;
  });
  wrap(throwaway, 'redactedCredentials', 'throwaway-server redactedCredentials', (original) => function (this: unknown, username: string, password: string, ...rest: unknown[]) {
    recordPassword(password, 'database-server');
    return original.call(this, username, password, ...rest);
  });
  wrap(rdsPasswords, 'checkMasterPassword', 'local/rds checkMasterPassword', (original) => function (this: unknown, password: string, ...rest: unknown[]) {
    recordPassword(password, 'rds-master-password');
    return original.call(this, password, ...rest);
  });

  // Every LocalSecretsManager the file starts: its lifecycle events (errorMessage included) are scanned when the file ends.
  wrap(LocalSecretsManager, 'start', 'LocalSecretsManager.start', (original) => async function (this: unknown, ...args: unknown[]) {
    const instance = (await original.apply(this, args)) as LocalSecretsManager;
    state.instances.push({ events: () => instance.events() });
    return instance;
  });

  // The throwaway database servers' logs (every statement they received; see server-logs.ts):
  // read when a server is removed, or when the file ends for one still running (report.ts).
  state.servers = new Set();
  state.serverLogs = { servers: 0, files: 0, bytes: 0, fixtureStatements: 0 };
  if (typeof throwaway.tapServerLogs !== 'function') {
    state.problems.push('throwaway-server tapServerLogs is not a function any more; the leak audit cannot read the servers\' logs (update test/support/leak-audit/capture.ts)');
  } else {
    throwaway.tapServerLogs((event, server) => {
      if (event === 'started') {
        state.servers!.add(server);
        return;
      }
      if (!state.servers!.delete(server)) return; // a server of another test file
      for (const { source, text } of readServerLogs(server, state.serverLogs!, state.problems)) recordOutput(source, text);
    });
  }

  // Output of child-process rotation functions, line by line.
  tapFunctionOutput(({ stream, line }) => recordOutput(`function-output`, `[${stream}] ${line}`));

  // Error messages every Secrets Manager client sees (the tests' and the handlers' own).
  wrap(SecretsManagerClient.prototype, 'send', 'SecretsManagerClient.prototype.send', (original) => function (this: unknown, ...args: unknown[]) {
    const result = original.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(undefined, (e: Error) => recordOutput('sdk-error', `${e?.name}: ${e?.message}`));
    }
    return result;
  });
}
