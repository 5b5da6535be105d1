import * as net from 'node:net';

/**
 * Returns a TCP port on 127.0.0.1 that was free a moment ago (the OS picks it by binding port 0).
 * Another process may still grab it before the caller binds it, so callers that start a server
 * on it should retry with a new port on EADDRINUSE.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close((err) => (err ? reject(err) : port ? resolve(port) : reject(new Error('freePort: no port assigned'))));
    });
  });
}
