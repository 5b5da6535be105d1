import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import type mysql from 'mysql2/promise';
import type { DatabaseSecret } from '../../../core/database-secret';
import type { ConnectionSettings } from '../engine';

export function connectionOptions(secret: DatabaseSecret, settings: ConnectionSettings): mysql.ConnectionOptions {
  return {
    host: secret.host,
    port: secret.port,
    stream: tcpStream(secret.host, secret.port),
    user: secret.username,
    password: secret.password,
    database: secret.dbname,
    ssl: sslOptions(settings),
    connectTimeout: settings.connectTimeoutMs,
    charset: 'UTF8MB4_UNICODE_CI',
    multipleStatements: false,
    connectAttributes: { program_name: 'rotor-rotation' },
  };
}

/**
 * The TCP connection mysql2 would open itself (no delay, keep-alive), plus one fix for IP hosts.
 * mysql2 upgrades this socket with `tls.connect({ socket })` and passes no `servername` for an IP
 * host; Node then checks the certificate against `socket._host`, which it sets only for host
 * names it resolved, else against "localhost". So an IP host would be checked as "localhost".
 * Naming the IP on the socket makes Node check the certificate's IP SANs, before any credential
 * is sent (proved by the "IP host needs an IP SAN" test).
 */
function tcpStream(host: string, port: number): () => net.Socket {
  return () => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    socket.once('connect', () => socket.setKeepAlive(true));
    if (net.isIP(host)) (socket as net.Socket & { _host?: string | null })._host = host;
    return socket;
  };
}

/**
 * TLS exactly as asked. mysql2 fails (HANDSHAKE_NO_SSL_SUPPORT) when the server has no TLS; the
 * session additionally checks Ssl_cipher. verifyIdentity makes mysql2 check the host name (IP
 * hosts against the certificate's IP SANs); without it mysql2 checks only the chain.
 */
function sslOptions(settings: ConnectionSettings): mysql.ConnectionOptions['ssl'] {
  switch (settings.tlsMode) {
    case 'disable':
      return undefined;
    case 'require':
      return { rejectUnauthorized: false, verifyIdentity: false };
    case 'verify-full':
      return {
        rejectUnauthorized: true,
        verifyIdentity: true,
        ca: settings.caFile ? readFileSync(settings.caFile, 'utf8') : undefined,
      };
  }
}
