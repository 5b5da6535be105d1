/**
 * Shows that every test in test/invariants/ fails when the rule it guards is
 * removed from the function: for each rule, a bundle with that one bug
 * planted (test/invariants/mutant-bundle.ts: built in memory from the
 * committed sources into .tmp/, nothing shared is touched) runs the rule's
 * test, which must fail; the unmutated bundle must pass every test first.
 *
 *   npx tsx test/invariants/prove-invariant-tests.ts [id-substring...]
 *
 * Writes .tmp/invariants/proof.json and prints the table of
 * docs/reliability.md (section 8). Not part of `npm test` (about 10 minutes).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from '../../scripts/bundle-options';
import { buildBundle, type Mutation } from './mutant-bundle';

type Entry = 'rotation' | 'trigger';

interface Proof {
  id: string;
  /** The invariant or skip rule. */
  rule: string;
  entry: Entry;
  /** The test's title (without its describe blocks). */
  test: string;
  bug: string;
  mutations: Mutation[];
}

const FILES: Record<Entry, string> = {
  rotation: 'test/invariants/rotation-invariants.test.ts',
  trigger: 'test/invariants/trigger-skip-rules.test.ts',
};
const ENV_VAR: Record<Entry, string> = { rotation: 'ROTOR_TEST_ROTATION_BUNDLE', trigger: 'ROTOR_TEST_TRIGGER_BUNDLE' };

const m = (file: string, find: string, replace: string): Mutation => ({ file: `lambda/${file}`, find, replace });
const never = (file: string, condition: string): Mutation => m(file, `if (${condition})`, 'if (false)');

export const PROOFS: Proof[] = [
  {
    id: 'inv1-rerun', rule: '1. steps re-runnable', entry: 'rotation',
    test: 'each step of a single-user rotation run three times: same labels, values and logins after every run; the rotation succeeds',
    bug: 'single-user setSecret no longer notices that AWSPENDING already logs in (a re-run goes on as if nothing was done)',
    mutations: [never('rotation/strategies/single-user.ts', 'already')],
  },
  {
    id: 'inv2-test-login', rule: '2. AWSCURRENT only moves to a credential that logs in', entry: 'rotation',
    test: 'testSecret refuses an AWSPENDING that does not log in, so AWSCURRENT never moves to it',
    bug: 'testSecret returns before logging in with AWSPENDING',
    mutations: [m('rotation/steps.ts', '  const pending = maybePending;\n  validatePending(ctx, strategy, current.secret, pending);\n', "  const pending = maybePending;\n  validatePending(ctx, strategy, current.secret, pending);\n  if (pending) return 'done';\n")],
  },
  {
    id: 'inv2-previous', rule: '2. recovery: AWSCURRENT logs in after a recovered rotation', entry: 'rotation',
    test: 'AWSCURRENT no longer logs in but AWSPREVIOUS does: the rotation recovers through AWSPREVIOUS and AWSCURRENT logs in afterwards',
    bug: 'single-user setSecret does not fall back to AWSPREVIOUS',
    mutations: [m('rotation/strategies/single-user.ts', 'const previous = await ctx.previous();', 'const previous = undefined as Awaited<ReturnType<typeof ctx.previous>>;')],
  },
  {
    id: 'inv3-pending-target', rule: '3. AWSPENDING may differ only in the password (single-user)', entry: 'rotation',
    test: 'single-user: an AWSPENDING written by another principal that points at another port is refused in createSecret; nothing changes',
    bug: 'SingleUserStrategy.validatePending no longer compares AWSPENDING\'s target with AWSCURRENT\'s',
    mutations: [m('rotation/strategies/single-user.ts', "void {\n    ctx.assertSameTarget(current, pending, 'AWSPENDING', this.mayDiffer);\n  }", 'void {\n  }')],
  },
  {
    id: 'inv3-pending-policy', rule: '3. AWSPENDING password must be one the policy could make', entry: 'rotation',
    test: 'an AWSPENDING password the function\'s policy could not have made is refused before it reaches the database',
    bug: 'assertPolicyPassword returns without checking',
    mutations: [m('rotation/rotation-context.ts', '    if (!why) return;', '    return;')],
  },
  {
    id: 'inv3-known-target', rule: '3. AWSCURRENT not trusted: the recorded target', entry: 'rotation',
    test: 'AWSCURRENT rewritten to another user after a rotation: refused by the recorded target; nothing written, the other user keeps its password',
    bug: 'assertKnownTarget accepts any target',
    mutations: [m('rotation/rotation-context.ts', 'if (recorded === undefined || recorded === targetFingerprint(current, mayDiffer)) return;', 'return;')],
  },
  {
    id: 'inv3-finish-revalidates', rule: '3. finishSecret promotes only a valid AWSPENDING', entry: 'rotation',
    test: 'finishSecret invoked out of order on an AWSPENDING that points elsewhere: refused, AWSCURRENT stays',
    bug: 'finishSecret no longer re-validates AWSPENDING before moving AWSCURRENT',
    mutations: [m('rotation/steps.ts', '  const pending = await ctx.pending();\n  validatePending(ctx, strategy, current, pending);\n', '  const pending = await ctx.pending();\n')],
  },
  {
    id: 'inv3-alternate-user', rule: '3. alternating users: AWSPENDING user must be the alternate', entry: 'rotation',
    test: 'an AWSPENDING naming a user other than the alternate is refused; that user keeps its password',
    bug: 'AlternatingUsersStrategy.validatePending accepts any user name',
    mutations: [never('rotation/strategies/alternating-users.ts', 'pending.username !== alternateUsername(current.username)')],
  },
  {
    id: 'inv3-alternate-proof', rule: '3. a stored credential proves the target before a change (alternating users)', entry: 'rotation',
    test: 'AWSCURRENT that does not log in: setSecret refuses before the master changes anything (no clone is made)',
    bug: 'alternating-users setSecret goes on when AWSCURRENT does not log in',
    mutations: [never('rotation/strategies/alternating-users.ts', '!probe')],
  },
  {
    id: 'inv3-master-server', rule: '3. the master credential is used on the user\'s server only', entry: 'rotation',
    test: 'a master secret that points at another server is refused before its credential is sent anywhere',
    bug: 'masterLogin no longer compares the master\'s host and port with the user\'s',
    mutations: [never('rotation/master-credential.ts', 'master.host.toLowerCase() !== user.host.toLowerCase() || master.port !== user.port')],
  },
  {
    id: 'inv3-rds-deployed', rule: '3. rds-master acts only on the instances it was deployed for', entry: 'rotation',
    test: 'a secret naming an instance the function was not deployed for is refused before RDS is asked to change anything',
    bug: 'deployedResourceOf accepts an instance not in ROTOR_RDS_RESOURCE_ARNS',
    mutations: [never('rotation/strategies/rds-master.ts', '!allowed')],
  },
  {
    id: 'inv3-rds-proof', rule: '3. rds-master: a stored credential proves itself before ModifyDBInstance', entry: 'rotation',
    test: 'a stored master password that does not log in: no ModifyDBInstance, the master keeps its password',
    bug: 'rds-master setSecret skips proveStoredCredential',
    mutations: [m('rotation/strategies/rds-master.ts', '      await this.proveStoredCredential(ctx);\n', '')],
  },
  {
    id: 'inv4-verifier', rule: '4. no password in the server\'s statement log', entry: 'rotation',
    test: 'after a rotation neither password is in the server\'s statement log or the function\'s output; the server got a SCRAM verifier',
    bug: 'PostgreSQL ALTER ROLE sends the plaintext password instead of the SCRAM verifier',
    mutations: [m('rotation/engines/postgres.ts', 'return isAscii(newPassword) ? scramVerifier(newPassword) : newPassword;', 'return newPassword;')],
  },
  {
    id: 'inv5-floor', rule: '5. no secret below the deployment\'s TLS floor', entry: 'rotation',
    test: 'a secret asking for ssl=disable (below the default floor verify-full) is refused in createSecret naming the setting; nothing written',
    bug: 'effectiveTlsMode obeys a mode below the floor',
    mutations: [never('core/tls-policy.ts', 'RANK[requested] < RANK[floor]')],
  },
  {
    id: 'inv5-verified', rule: '5. TLS verified', entry: 'rotation',
    test: 'the server certificate is verified: signed by a CA the function does not trust, the login fails [tls] and the password is unchanged',
    bug: 'verify-full sets rejectUnauthorized: false',
    mutations: [m('rotation/engines/postgres.ts', 'rejectUnauthorized: true,', 'rejectUnauthorized: false,')],
  },
  {
    id: 'inv5-master-tls', rule: '5. a master login never weaker than the master secret\'s TLS', entry: 'rotation',
    test: 'the master credential travels with the master secret\'s TLS mode even when the application secret (and a disable floor) ask for none',
    bug: 'masterLogin takes the application secret\'s ssl',
    mutations: [m('rotation/master-credential.ts', 'ssl: strongerTls(user.ssl, master.ssl)', 'ssl: user.ssl')],
  },
  {
    id: 'inv6-identifier', rule: '6. identifiers only through the driver\'s escaping', entry: 'rotation',
    test: 'a user name with a double quote, a quote, a semicolon and a backslash rotates; new password logs in, old refused',
    bug: 'ALTER ROLE quotes the user name by concatenation ("${username}")',
    mutations: [m('rotation/engines/postgres.ts', 'return `ALTER ROLE ${this.client.escapeIdentifier(username)} WITH PASSWORD', 'return `ALTER ROLE "${username}" WITH PASSWORD')],
  },
  {
    id: 'inv7-step', rule: '7. every failure names step, category, action', entry: 'rotation',
    test: 'a refusal made below the step runner (no step of its own) still reaches Secrets Manager as "step: [category] what. What to do."',
    bug: 'the handler no longer attaches the step to a RotationError',
    mutations: [m('rotation/handler.ts', '? event ? e.inStep(event.step) : e', '? e')],
  },

  {
    id: 'skip-not-managed', rule: 'not-managed (tag missing or another deployment\'s)', entry: 'trigger',
    test: 'not-managed: a secret without the rotor:managed-by tag, or managed by another deployment, is skipped and not rotated',
    bug: 'staticSkip no longer checks rotor:managed-by',
    mutations: [never('trigger/rotate.ts', 'managedBy !== deploymentId')],
  },
  {
    id: 'skip-access-denied', rule: 'not-managed (DescribeSecret denied)', entry: 'trigger',
    test: 'not-managed: DescribeSecret denied (the deployed role reaches only its own secrets) is reported as not managed, not as a failure',
    bug: 'the resolver treats AccessDeniedException as a failure',
    mutations: [never('trigger/secret-resolver.ts', "errorName(e) === 'AccessDeniedException'")],
  },
  {
    id: 'skip-deleted', rule: 'scheduled-for-deletion', entry: 'trigger',
    test: 'scheduled-for-deletion: a secret scheduled for deletion is skipped (not a failed RotateSecret)',
    bug: 'staticSkip no longer checks DeletedDate',
    mutations: [never('trigger/rotate.ts', 'secret.deleted')],
  },
  {
    id: 'skip-disabled', rule: 'rotation-disabled', entry: 'trigger',
    test: 'rotation-disabled: a secret whose rotation was turned off is skipped; RotateSecret (which would turn it on again) is not called',
    bug: 'staticSkip no longer checks RotationEnabled',
    mutations: [never('trigger/rotate.ts', '!secret.rotationEnabled')],
  },
  {
    id: 'skip-already', rule: 'already-requested', entry: 'trigger',
    test: 'already-requested: the same event delivered again rotates nothing more and says so',
    bug: 'rotateOne no longer looks for the event\'s token among the versions',
    mutations: [never('trigger/rotate.ts', 'secret.versions[token]')],
  },
  {
    id: 'skip-in-progress', rule: 'rotation-in-progress', entry: 'trigger',
    test: 'rotation-in-progress: AWSPENDING on another version than AWSCURRENT is skipped before any RotateSecret call',
    bug: 'rotateOne no longer checks AWSPENDING against AWSCURRENT (leaves it to RotateSecret)',
    mutations: [never('trigger/rotate.ts', 'pending !== undefined && pending !== current')],
  },
  {
    id: 'skip-cool-down', rule: 'cool-down', entry: 'trigger',
    test: 'cool-down: an alert or request within ROTOR_TRIGGER_COOLDOWN_MINUTES of the last rotation is skipped',
    bug: 'rotateOne ignores the cool-down',
    mutations: [never('trigger/rotate.ts', 'age < cooldownMs')],
  },
  {
    id: 'skip-cap', rule: 'cap', entry: 'trigger',
    test: 'cap: past ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT secrets (by ARN) of one event are skipped and not rotated',
    bug: 'capped() keeps every secret',
    mutations: [
      m('trigger/run-trigger.ts', 'for (const c of rotatable.slice(max)) {', 'for (const c of rotatable.slice(rotatable.length)) {'),
      m('trigger/run-trigger.ts', 'return { eligible: rotatable.slice(0, max), skipped };', 'return { eligible: rotatable, skipped };'),
    ],
  },
  {
    id: 'skip-not-found', rule: 'not-found', entry: 'trigger',
    test: 'not-found: a secret that does not exist is skipped, not a failure',
    bug: 'the resolver treats ResourceNotFoundException as a failure',
    mutations: [m('trigger/secret-resolver.ts', "if (errorName(e) === 'ResourceNotFoundException') {\n        return { skipped: { secretArn: secretId, reason: 'not-found'", "if (false) {\n        return { skipped: { secretArn: secretId, reason: 'not-found'")],
  },
  {
    id: 'skip-other-account', rule: 'other-account (secret ARN)', entry: 'trigger',
    test: 'other-account: a secret ARN of another account or Region is skipped without being looked up',
    bug: 'the resolver looks up a secret ARN of another account',
    mutations: [never('trigger/secret-resolver.ts', 'p.account !== scope.account')],
  },
  {
    id: 'skip-other-region', rule: 'other-region (secret ARN)', entry: 'trigger',
    test: 'other-region: a secret ARN of another account or Region is skipped without being looked up',
    bug: 'the resolver looks up a secret ARN of another Region',
    mutations: [never('trigger/secret-resolver.ts', 'p.region !== scope.region')],
  },
  {
    id: 'finding-other-account', rule: 'finding: other-account', entry: 'trigger',
    test: 'other-account: a GuardDuty finding about the database of a managed secret is skipped; the secret is not rotated',
    bug: 'ScopeCheck.accepts ignores the account',
    mutations: [never('trigger/events/scope.ts', 'account !== this.self.account')],
  },
  {
    id: 'finding-other-region', rule: 'finding: other-region', entry: 'trigger',
    test: 'other-region: a GuardDuty finding about the database of a managed secret is skipped; the secret is not rotated',
    bug: 'ScopeCheck.accepts ignores the Region',
    mutations: [never('trigger/events/scope.ts', 'region !== this.self.region')],
  },
  {
    id: 'finding-no-scope', rule: 'finding: no-scope', entry: 'trigger',
    test: 'no-scope: a GuardDuty finding about the database of a managed secret is skipped; the secret is not rotated',
    bug: 'ScopeCheck.accepts does not treat a missing account as no scope',
    mutations: [never('trigger/events/scope.ts', '!account')],
  },
  {
    id: 'finding-inactive', rule: 'finding: inactive', entry: 'trigger',
    test: 'inactive: a Security Hub finding about the database of a managed secret is skipped; the secret is not rotated',
    bug: 'archived / suppressed / resolved Security Hub findings are acted on',
    mutations: [never('trigger/events/security-hub.ts', "recordState === 'ARCHIVED' || workflow === 'SUPPRESSED' || workflow === 'RESOLVED'")],
  },
  {
    id: 'finding-not-credential-type', rule: 'finding: not-credential-type', entry: 'trigger',
    test: 'not-credential-type: a Security Hub finding about the database of a managed secret is skipped; the secret is not rotated',
    bug: 'Security Hub findings of any type are acted on',
    mutations: [never('trigger/events/security-hub.ts', '!types.some(isCredentialFindingType)')],
  },
];

const OUT = path.join(ROOT, '.tmp', 'invariants');
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

interface JestResult {
  exitCode: number;
  /** Title -> status of every test that ran (not skipped). */
  ran: Record<string, string>;
}

function runJest(entry: Entry, bundles: Record<Entry, string>, testName?: string): JestResult {
  const json = path.join(OUT, `jest-${process.pid}.json`);
  rmSync(json, { force: true });
  const args = ['jest', FILES[entry], '--testEnvironment=node', '--json', `--outputFile=${json}`];
  if (testName) args.push('-t', escapeRegExp(testName));
  const r = spawnSync('npx', args, { cwd: ROOT, env: { ...process.env, [ENV_VAR.rotation]: bundles.rotation, [ENV_VAR.trigger]: bundles.trigger }, encoding: 'utf8' });
  const ran: Record<string, string> = {};
  try {
    const report = JSON.parse(readFileSync(json, 'utf8')) as { testResults: Array<{ assertionResults: Array<{ title: string; status: string }> }> };
    for (const f of report.testResults) for (const a of f.assertionResults) if (a.status !== 'pending' && a.status !== 'skipped') ran[a.title] = a.status;
  } catch {
    // No report: the run itself failed (reported through the exit code).
  }
  return { exitCode: r.status ?? 1, ran };
}

type Result = Proof & { commit: string; at: string; baseline: string; mutant: string; failed: boolean };

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const proofs = only.length ? PROOFS.filter((p) => only.some((o) => p.id.includes(o))) : PROOFS;
  mkdirSync(OUT, { recursive: true });
  const base: Record<Entry, string> = {
    rotation: await buildBundle({ entry: 'rotation', outfile: path.join(OUT, 'base', 'rotation', 'index.js') }),
    trigger: await buildBundle({ entry: 'trigger', outfile: path.join(OUT, 'base', 'trigger', 'index.js') }),
  };
  const baseline: Record<string, string> = {};
  for (const entry of [...new Set(proofs.map((p) => p.entry))]) {
    const r = runJest(entry, base);
    Object.assign(baseline, r.ran);
    console.log(`baseline ${FILES[entry]}: exit ${r.exitCode}, ${Object.values(r.ran).filter((s) => s === 'passed').length}/${Object.keys(r.ran).length} passed`);
    if (r.exitCode !== 0) throw new Error(`the unmutated bundle fails ${FILES[entry]}: fix that first`);
  }
  const commit = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  // Earlier results are kept (by id) so that a run of some proofs adds to the last full run.
  const file = path.join(OUT, 'proof.json');
  const kept = new Map<string, Result>();
  try {
    for (const r of (JSON.parse(readFileSync(file, 'utf8')) as { results: Result[] }).results) kept.set(r.id, r);
  } catch {
    // First run.
  }
  for (const p of proofs) {
    const outfile = path.join(OUT, 'mutants', p.id, 'index.js');
    let mutant: string;
    try {
      await buildBundle({ entry: p.entry, outfile, mutations: p.mutations });
      const r = runJest(p.entry, { ...base, [p.entry]: outfile }, p.test);
      mutant = r.ran[p.test] ?? `not run (exit ${r.exitCode})`;
    } catch (e) {
      mutant = `not built: ${(e as Error).message.split('\n')[0]}`;
    }
    const failed = mutant === 'failed';
    kept.set(p.id, { ...p, commit, at: new Date().toISOString(), baseline: baseline[p.test] ?? 'not run', mutant, failed });
    console.log(`${failed ? 'FAILED as it must' : 'NOT FAILED'}  ${p.id}: ${p.bug}${failed ? '' : ` (${mutant})`}`);
    rmSync(path.dirname(outfile), { recursive: true, force: true });
  }
  const results = PROOFS.map((p) => kept.get(p.id)).filter((r): r is Result => r !== undefined);
  writeFileSync(file, `${JSON.stringify({ results }, null, 1)}\n`);
  console.log('\n| Invariant / skip rule | Test (file: name) | Planted bug | Test failed with the bug |\n|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.rule} | \`${FILES[r.entry].replace('test/invariants/', '')}\`: ${r.test} | ${r.bug} | ${r.failed ? 'yes' : `**no** (${r.mutant})`} |`);
  }
  if (results.some((r) => !r.failed)) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
