/**
 * HTTP plumbing shared by the local AWS endpoints (Secrets Manager's JSON protocol in
 * secrets-manager/server.ts, RDS's Query protocol in rds/server.ts): the node:http server with
 * its last-resort error handling, listen/close, and reading a request body with a size limit.
 * How requests are answered (and in which error format) is up to each protocol.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A node:http server that hands every request to `handle()`. `handle()` answers its own errors
 * in its protocol's format; one that still escapes is logged (with `logPrefix`) and answered
 * 500, and a malformed request gets a bare 400, so a bad request never takes the server down.
 */
export abstract class LocalHttpServer {
  private readonly server: http.Server;

  constructor(logPrefix: string) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        // Last resort: handle() answers every error itself.
        process.stderr.write(`${logPrefix}: unexpected error while answering a request: ${(e as Error)?.stack ?? String(e)}\n`);
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Answers one request, errors included. */
  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void>;

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops listening and drops every open connection. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/**
 * The request body as UTF-8. A body over `maxBytes` is read to its end but not kept, and the
 * promise rejects with `tooLarge()` (the protocol's own error).
 */
export function readBody(req: http.IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let isTooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (isTooLarge) return;
      size += chunk.length;
      if (size > maxBytes) {
        isTooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (isTooLarge) reject(tooLarge());
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

/** The request's media type, lower case, without parameters (`; charset=...`); '' when absent. */
export function mediaType(req: http.IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}
