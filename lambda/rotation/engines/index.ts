import { engineFamily, type EngineName } from '../../core/database-secret';
import type { DatabaseEngine } from './engine';
import { MysqlEngine } from './mysql';
import { PostgresEngine } from './postgres';

const postgres = new PostgresEngine();
const mysql = new MysqlEngine();

/** The engine for a secret's `engine` field. */
export function engineFor(name: EngineName): DatabaseEngine {
  return engineFamily(name) === 'postgres' ? postgres : mysql;
}
