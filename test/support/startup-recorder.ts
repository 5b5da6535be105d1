import * as net from 'node:net';

/** What a network observer on the database route saw of one connection's start. */
export interface ObservedStart {
  /** The client asked for TLS before anything else (PostgreSQL SSLRequest). */
  tls: boolean;
  /** The user in a plaintext StartupMessage: what anyone on the route can read (and answer). */
  plaintextUser?: string;
}

/**
 * A TCP relay in front of a PostgreSQL server that records, for each
 * connection, whether the client started with TLS or sent its StartupMessage
 * in the clear (and as which user). It stands for a network attacker on the
 * database route: a plaintext start is one it could answer with a request
 * for the cleartext password.
 */
export async function startStartupRecorder(target: { host: string; port: number }): Promise<{ port: number; seen: ObservedStart[]; stop(): Promise<void> }> {
  const seen: ObservedStart[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    const upstream = net.connect(target.port, target.host);
    sockets.add(upstream);
    let first = true;
    client.on('data', (chunk) => {
      if (first) {
        first = false;
        seen.push(parseStart(chunk));
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const SSL_REQUEST = 80877103;

function parseStart(b: Buffer): ObservedStart {
  if (b.length >= 8 && b.readInt32BE(4) === SSL_REQUEST) return { tls: true };
  // StartupMessage: length, protocol, then key\0value\0 pairs.
  const fields = b.subarray(8).toString('utf8').split('\0');
  const i = fields.indexOf('user');
  return { tls: false, plaintextUser: i >= 0 ? fields[i + 1] : undefined };
}
