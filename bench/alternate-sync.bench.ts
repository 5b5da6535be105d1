import * as os from 'node:os';
import type { DatabaseSecret } from '../lambda/core/database-secret';
import type { ConnectionSettings, DatabaseSession } from '../lambda/rotation/engines/engine';
import { engineFor } from '../lambda/rotation/engines';
import { startDemoServer } from '../local/demo-servers';
import { newPassword } from './rotation-kit';
import { median, percentile, round } from './stats';

const ROUNDS = Number(process.env.ROTOR_BENCH_ROUNDS ?? 60);
/** What an early login has to hide in: the round trip of setSecret's DescribeSecret (rotation-latency.bench.ts injects 15 ms). */
const WAIT_MS = 15;

/**
 * The alternating-users strategy's admin work in setSecret (DatabaseSession.syncAlternateUser, the
 * usual rotation: the alternate user exists and already equals the current one), timed from the
 * master session's first statement to the sync's end, against the demo servers (TLS verify-full).
 *
 * - statements: how many the sync sends (each a round trip to the database).
 * - PostgreSQL: `syncMs` for a new session used at once (`cold`), and for one warmed
 *   (DatabaseSession.warm) at login and used after a 15 ms wait, as setSecret's early master login
 *   is (`warmed`). Interleaved, one fresh session each, same wait in both: the difference is what
 *   the warm-up hides in DescribeSecret's round trip.
 */
export async function run(): Promise<Record<string, unknown>> {
  const figures: Record<string, unknown> = { rounds: ROUNDS, waitMs: WAIT_MS };
  for (const engineName of ['postgres', 'mariadb'] as const) {
    const db = await startDemoServer(engineName);
    try {
      const source = 'bench_sync';
      await db.createUser(source, newPassword());
      const master = { engine: db.engine, host: db.host, port: db.port, dbname: db.dbname, username: db.admin.username, password: db.admin.password } as DatabaseSecret;
      const settings: ConnectionSettings = { tlsMode: 'verify-full', caFile: db.caFile, connectTimeoutMs: 5000, statementTimeoutMs: 5000 };
      const engine = engineFor(db.engine);
      const kinds = engineName === 'postgres' ? ['cold', 'warmed'] as const : ['cold'] as const;
      const ms: Record<string, number[]> = Object.fromEntries(kinds.map((k) => [k, []]));
      let statements = 0;
      for (let i = 0; i < ROUNDS + 1; i++) {
        for (const kind of kinds) {
          const session = await engine.connect(master, settings);
          try {
            if (kind === 'warmed') void session.warm?.();
            await new Promise((resolve) => setTimeout(resolve, WAIT_MS));
            const sent = countStatements(session);
            const t0 = performance.now();
            await session.syncAlternateUser({ target: `${source}_clone`, source, baseUser: source, password: newPassword() });
            // The first round creates the alternate user; the figures are for the usual rotation after it.
            if (i > 0) {
              ms[kind].push(performance.now() - t0);
              statements = sent();
            }
          } finally {
            await session.close();
          }
        }
      }
      figures[engineName] = {
        statements,
        ...Object.fromEntries(kinds.map((k) => [k, { syncMs: round(median(ms[k])), syncP90Ms: round(percentile(ms[k], 90)) }])),
        ...(kinds.length > 1 ? { warmedToCold: round(median(ms.warmed) / median(ms.cold)) } : {}),
      };
    } finally {
      await db.stop();
    }
  }
  figures.loadAverage1m = round(os.loadavg()[0], 1);
  return figures;
}

/** Counts the statements a session sends from now on (the drivers' query entry points). */
function countStatements(session: DatabaseSession): () => number {
  const inner = session as unknown as { client?: { query: (...a: unknown[]) => unknown }; conn?: { query: (...a: unknown[]) => unknown } };
  const driver = inner.client ?? inner.conn;
  if (!driver) throw new Error('alternate-sync bench: the session has no driver connection to count statements on');
  let n = 0;
  const query = driver.query.bind(driver);
  driver.query = (...a: unknown[]) => {
    n++;
    return query(...a);
  };
  return () => n;
}
