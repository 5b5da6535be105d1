import mysql from 'mysql2/promise';
import type { DatabaseSecret } from '../../core/database-secret';
import type { ConnectionSettings, DatabaseEngine, DatabaseSession } from './engine';
import { MARIADB_MAX_USERNAME, MYSQL_MAX_USERNAME } from './mysql/common';
import { connectionOptions } from './mysql/connection';
import { classifyMysqlError } from './mysql/errors';
import { MysqlSession } from './mysql/session';

// The pieces, by concern (mysql/): session.ts (a logged-in session), password.ts and
// password-hash.ts (passwords set as hashes, never in plain text), alternate-user.ts, accounts.ts
// and grants.ts (alternating users), connection.ts (TLS and the socket), errors.ts (categories).
export { mysqlFlavor, type MysqlFlavor } from './mysql/common';
export { classifyMysqlError, type MysqlErrorContext } from './mysql/errors';
export { grantKey, grantStatement, parseGrantLine, type GrantLine } from './mysql/grants';

/**
 * MySQL, MariaDB and Aurora MySQL through `mysql2`.
 */
export class MysqlEngine implements DatabaseEngine {
  readonly family = 'mysql' as const;
  /** The AWS reference functions' default for MySQL. */
  readonly defaultExcludedCharacters = '/@"\'\\';

  /**
   * MariaDB: 80 characters, its documented limit since 10.0 (newer servers store more: the 10.11 of
   * the tests has char(128), but 80 holds everywhere). MySQL 5.7.8+ / 8.x and Aurora MySQL: 32.
   */
  maxUsernameLength(engine: DatabaseSecret['engine']): number {
    return engine === 'mariadb' ? MARIADB_MAX_USERNAME : MYSQL_MAX_USERNAME;
  }

  /** The server counts characters (code points), not bytes. */
  usernameLength(name: string): number {
    return [...name].length;
  }

  async connect(secret: DatabaseSecret, settings: ConnectionSettings): Promise<DatabaseSession> {
    let conn: mysql.Connection;
    try {
      conn = await mysql.createConnection(connectionOptions(secret, settings));
    } catch (e) {
      throw classifyMysqlError(e, secret, settings, 'log in');
    }
    // A connection error after connect (server gone) must not crash the process.
    conn.on('error', () => undefined);
    const session = new MysqlSession(conn, secret, settings);
    try {
      await session.init();
    } catch (e) {
      await session.close();
      throw e;
    }
    return session;
  }
}
