import { CrashMatrix, pointKey, type CrashPoint, type FaultKind, type FaultPhase, type MatrixEngine, type MatrixStrategy, type PointOutcome } from './crash-matrix';

/** Thrown after RDS applied a password is not a fault RDS can have (the change is made); every other combination is injected. */
const applicable = (p: CrashPoint, phase: FaultPhase, kind: FaultKind) => !(p.source === 'rds' && kind === 'thrown' && phase === 'after');

/**
 * Defines the crash-point tests of one engine x strategy: a clean rotation
 * discovers every point, then each point x {before, after} x {thrown, killed}
 * gets a fresh secret, one fault and a recovery check (see CrashMatrix.run).
 */
export function defineCrashMatrix(spec: { engine: MatrixEngine; strategy: MatrixStrategy }): void {
  describe(`crash points: ${spec.engine} ${spec.strategy}`, () => {
    let m: CrashMatrix;
    let points: CrashPoint[] = [];
    const outcomes: PointOutcome[] = [];

    beforeAll(async () => {
      m = await CrashMatrix.start(spec);
      points = await m.discover();
    }, 120_000);
    afterAll(async () => {
      if (m) CrashMatrix.writeReport(spec, points, outcomes);
      await m?.stop();
    }, 60_000);

    test('a clean rotation passes Secrets Manager calls and database statements in every step', () => {
      const sources = new Set(points.map((p) => p.source));
      expect(sources.has('secrets-manager')).toBe(true);
      if (spec.strategy !== 'rds-master') expect(sources.has('database')).toBe(true);
      else expect(sources.has('rds')).toBe(true);
      for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) expect(points.some((p) => p.step === step)).toBe(true);
    });

    for (const kind of ['thrown', 'killed'] as const) {
      for (const phase of ['before', 'after'] as const) {
        test(`${kind} ${phase} every call and statement: some version always logs in; recovery and the next rotation succeed`, async () => {
          const failures: string[] = [];
          for (const p of points.filter((x) => applicable(x, phase, kind))) {
            const o = await m.run(p, phase, kind);
            outcomes.push(o);
            if (o.problems.length) failures.push(`${pointKey(p)} (${phase}, ${kind}): ${o.problems.join('; ')}`);
          }
          expect(failures).toEqual([]);
        }, 900_000);
      }
    }
  });
}
