import type { Client as PgClient, ClientConfig, PoolConfig, Pool as PgPool } from 'pg';
import { applicationNameOf, connectWithRotation, latePassword, type Attempt, type RotationAwareOptions } from './rotating-credential';

/** SQLSTATE invalid_password: https://www.postgresql.org/docs/current/errcodes-appendix.html */
export const PG_INVALID_PASSWORD = '28P01';

export function isPgAuthFailure(e: unknown): boolean {
  return (e as { code?: unknown })?.code === PG_INVALID_PASSWORD;
}

type PgModule = typeof import('pg');
type ClientClass = new (config?: ClientConfig) => PgClient;

/** pg internals the retry touches (pg 8.x): a refused client is made connectable again. */
interface ClientInternals {
  connection: { stream?: { destroy(): void }; once(ev: string, fn: () => void): void };
  connectionParameters: { user?: string; password?: unknown; host?: string; port?: number; database?: string; ssl?: unknown; sslnegotiation?: string; client_encoding?: string };
  user?: string;
  password?: unknown;
  host?: string;
  port?: number;
  database?: string;
  ssl?: unknown;
  _connecting: boolean;
  _connected: boolean;
  _connectionError: boolean;
  _ending: boolean;
  _ended: boolean;
  _queryable: boolean;
  _txStatus: unknown;
  saslSession: unknown;
  processID: unknown;
  secretKey: unknown;
}

/**
 * A pg.Client class whose connect() takes user, password, host, port and
 * database from the secret (through the cache) and retries on SQLSTATE 28P01
 * as connectWithRotation describes. Options given to the constructor win
 * over the secret for everything but user and password.
 */
export function rotationAwarePgClientClass(opts: RotationAwareOptions): ClientClass {
  const pg = require('pg') as PgModule;
  const Connection = require('pg/lib/connection') as new (o: Record<string, unknown>) => ClientInternals['connection'];
  const appName = applicationNameOf(opts);

  class RotationAwarePgClient extends pg.Client {
    private readonly rotorConfig: ClientConfig;
    private rotorMuteEnd = false;
    private rotorAttempt: Attempt | undefined;

    constructor(config: ClientConfig = {}) {
      const named = { ...config, application_name: config.application_name ?? appName };
      super(named);
      this.rotorConfig = named;
    }

    override emit(event: string | symbol, ...args: unknown[]): boolean {
      // The 'end' of a connection refused during a retried connect is not the end of this client.
      if (this.rotorMuteEnd && event === 'end') return false;
      return super.emit(event, ...args);
    }

    override connect(): Promise<PgClient>;
    override connect(callback: ((err: Error) => void) | ((err: null, c: PgClient) => void)): void;
    override connect(callback?: (...args: any[]) => void): Promise<PgClient> | void {
      const done = connectWithRotation(opts, (a, i) => this.attempt(a, i), isPgAuthFailure).then(() => this as PgClient);
      if (callback) {
        done.then((c) => callback(null, c), (e: Error) => callback(e));
        return;
      }
      return done;
    }

    /**
     * SCRAM: the password is first needed here, one round trip after pg asked
     * for it (the client-first message carries only a nonce). Chosen again:
     * a refusal or login recorded in that round trip may name a newer version.
     */
    async _handleAuthSASLContinue(msg: unknown): Promise<void> {
      const self = this as unknown as ClientInternals;
      if (this.rotorAttempt && typeof self.password === 'string') {
        await opts.cache.settled(opts.secretId);
        self.password = latePassword(opts, this.rotorAttempt);
      }
      return (pg.Client.prototype as unknown as { _handleAuthSASLContinue(m: unknown): Promise<void> })._handleAuthSASLContinue.call(this, msg);
    }

    private async attempt(a: Attempt, index: number): Promise<void> {
      const self = this as unknown as ClientInternals;
      this.rotorAttempt = a;
      if (index > 0) await this.reset(self);
      const c = a.credential;
      const cp = self.connectionParameters;
      cp.user = self.user = c.username;
      // Asked for when the server requests it (pg calls a password function then): the newest usable version.
      // A refresh in flight (another connection was just refused) is waited for first: it may name a newer version.
      cp.password = self.password = async () => {
        await opts.cache.settled(opts.secretId);
        return latePassword(opts, a);
      };
      cp.host = self.host = this.rotorConfig.host ?? c.host;
      cp.port = self.port = this.rotorConfig.port ?? c.port;
      cp.database = self.database = this.rotorConfig.database ?? c.dbname ?? 'postgres';
      const ssl = this.rotorConfig.ssl !== undefined ? this.rotorConfig.ssl : sslFor(c.tlsMode, opts.ca);
      cp.ssl = self.ssl = ssl;
      // The Connection was built in the constructor with the constructor's ssl; build it with this one.
      if (!this.rotorConfig.stream) {
        self.connection = new Connection({
          ssl,
          sslNegotiation: cp.sslnegotiation,
          keepAlive: this.rotorConfig.keepAlive || false,
          keepAliveInitialDelayMillis: this.rotorConfig.keepAliveInitialDelayMillis || 0,
          encoding: cp.client_encoding || 'utf8',
        });
      }
      await new Promise<void>((resolve, reject) => super.connect((err: Error | null) => (err ? reject(err) : resolve())));
    }

    /** Waits until the refused connection has ended, then clears the connect state (pg refuses to connect a client twice). */
    private async reset(self: ClientInternals): Promise<void> {
      if (this.rotorConfig.stream) throw new Error('rotor/client: cannot retry a connect on a caller-provided stream');
      this.rotorMuteEnd = true;
      try {
        if (!self._ended) {
          await new Promise<void>((resolve) => {
            self.connection.once('end', () => resolve());
            self.connection.stream?.destroy();
          });
        }
        await new Promise((resolve) => process.nextTick(resolve));
      } finally {
        this.rotorMuteEnd = false;
      }
      Object.assign(self, {
        _connecting: false, _connected: false, _connectionError: false, _ending: false, _ended: false,
        _queryable: true, _txStatus: null, saslSession: null, processID: null, secretKey: null,
      });
    }
  }
  return RotationAwarePgClient as unknown as ClientClass;
}

function sslFor(mode: 'verify-full' | 'require' | 'disable', ca: string | Buffer | undefined): ClientConfig['ssl'] {
  if (mode === 'disable') return false;
  if (mode === 'require') return { rejectUnauthorized: false };
  return ca ? { ca, rejectUnauthorized: true } : { rejectUnauthorized: true };
}

/**
 * Options for `new pg.Pool(...)`: every new pooled connection takes its
 * credential from the cache and retries on an authentication failure.
 *
 * ```ts
 * const pool = new Pool(pgPoolConfig({ cache, secretId: 'prod/orders/db' }, { max: 10 }));
 * ```
 */
export function pgPoolConfig(opts: RotationAwareOptions, base: PoolConfig = {}): PoolConfig {
  return { ...base, application_name: base.application_name ?? applicationNameOf(opts), Client: rotationAwarePgClientClass(opts) as never };
}

/** `new pg.Pool(pgPoolConfig(opts, base))`. */
export function createPgPool(opts: RotationAwareOptions, base: PoolConfig = {}): PgPool {
  const pg = require('pg') as PgModule;
  return new pg.Pool(pgPoolConfig(opts, base));
}

/** A pg.Client (not yet connected: call `connect()`) whose connect takes the credential from the cache. */
export function createPgClient(opts: RotationAwareOptions, base: ClientConfig = {}): PgClient {
  const Client = rotationAwarePgClientClass(opts);
  return new Client(base);
}
