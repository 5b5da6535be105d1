import * as net from 'node:net';
import { freePort } from './free-port';

export interface Blackhole {
  host: string;
  port: number;
  /** Number of connections accepted so far (useful to assert a client really tried). */
  readonly accepted: number;
  close(): Promise<void>;
}

/**
 * A TCP server on 127.0.0.1 that accepts connections and never sends a byte (nor reads what it is
 * sent). A PostgreSQL/MySQL client connecting to it hangs in the startup handshake until its own
 * connect/statement timeout fires: use it for network-timeout tests.
 *
 * The server and its sockets are unref'd, so a forgotten blackhole does not keep Jest alive.
 */
export function startBlackhole(): Promise<Blackhole> {
  return new Promise((resolve, reject) => {
    const sockets = new Set<net.Socket>();
    let accepted = 0;
    const server = net.createServer({ pauseOnConnect: true }, (socket) => {
      accepted++;
      sockets.add(socket);
      socket.unref();
      socket.on('error', () => undefined);
      socket.on('close', () => sockets.delete(socket));
    });
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1' }, () => {
      server.unref();
      const addr = server.address() as net.AddressInfo;
      let closed: Promise<void> | undefined;
      resolve({
        host: '127.0.0.1',
        port: addr.port,
        get accepted() {
          return accepted;
        },
        close() {
          closed ??= new Promise<void>((res) => {
            for (const s of sockets) s.destroy();
            sockets.clear();
            server.close(() => res());
          });
          return closed;
        },
      });
    });
  });
}

/**
 * A loopback port nothing listens on (connections to 127.0.0.1:port get ECONNREFUSED).
 * Best effort: the port was free when checked, like freePort().
 */
export function unusedPort(): Promise<number> {
  return freePort();
}
