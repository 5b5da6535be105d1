/**
 * HTTP plumbing shared by the local AWS endpoints (Secrets Manager's JSON protocol in
 * secrets-manager/server.ts, RDS's Query protocol in rds/server.ts): the node:http server with
 * its last-resort error handling, the local-only request guard (requestRefusal), listen/close,
 * and reading a request body with a size limit. How accepted requests are answered (and in
 * which error format) is up to each protocol.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a server accepts, beyond "local clients only" (see requestRefusal). */
export interface RequestPolicy {
  /** Media types (lower case, no parameters) a request may declare or send a body with. */
  bodyMediaTypes: readonly string[];
}

/** Why a request was refused before it reached the protocol: answered as JSON, nothing done. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
}

/**
 * The Host values the endpoints answer: the loopback names, with or without a port, any case.
 * A DNS-rebinding page (http://attacker.example:4566 whose name now resolves to 127.0.0.1)
 * reaches this server with its own name in Host, so it is refused; so are names that merely
 * start with a loopback name (localhost.attacker.example, 127.0.0.1.nip.io).
 */
const LOCAL_HOST = /^(?:127\.0\.0\.1|localhost|\[::1\])(?::[0-9]{1,5})?$/i;

/**
 * Local clients only: the AWS SDKs and CLIs, curl, tests. Browsers are refused, so a web page
 * can neither read from nor act on the endpoint (its control routes take no credentials, and
 * signatures are checked for shape only). Refused, before the body is read:
 * - a Host that is not 127.0.0.1, localhost or [::1] (DNS rebinding), or no Host;
 * - any `Origin` header: browsers send it on every cross-origin request other than a plain
 *   GET/HEAD, and on every POST (https://fetch.spec.whatwg.org/#origin-header); SDKs never do;
 * - `Sec-Fetch-Site` (any value), `Sec-Fetch-User`, or `Sec-Fetch-Mode` / `Sec-Fetch-Dest` other
 *   than `cors` / `empty`: fetch metadata a browser attaches to every request to a potentially
 *   trustworthy URL, which http://127.0.0.1 is (https://www.w3.org/TR/fetch-metadata/).
 *   Node's own fetch (undici) sends `Sec-Fetch-Mode: cors` and nothing else, and a browser's
 *   cors-mode request always carries Origin, so that value alone is let through;
 * - a request with a body or a Content-Type whose media type is not in `policy.bodyMediaTypes`.
 *   For JSON endpoints this alone stops the requests a page can send without a CORS preflight
 *   (HTML forms and simple fetches: text/plain, multipart/form-data,
 *   application/x-www-form-urlencoded; https://fetch.spec.whatwg.org/#cors-safelisted-request-header).
 */
export function requestRefusal(req: http.IncomingMessage, policy: RequestPolicy): Refusal | undefined {
  const host = req.headers.host;
  if (host === undefined || !LOCAL_HOST.test(host)) {
    return {
      status: 403,
      code: 'InvalidHostHeader',
      message: `This local endpoint answers only requests for Host 127.0.0.1, localhost or [::1] (with any port); got ${host === undefined ? 'no Host header' : `Host ${quoted(host)}`}. Use http://127.0.0.1:<port> as the endpoint URL.`,
    };
  }
  if (req.headers.origin !== undefined) {
    return {
      status: 403,
      code: 'CrossOriginRequestRefused',
      message: `This local endpoint does not answer browsers: the request carries an Origin header (${quoted(req.headers.origin)}). Use an AWS SDK, the AWS CLI or curl.`,
    };
  }
  const fetchMetadata = browserFetchMetadata(req.headers);
  if (fetchMetadata) {
    return {
      status: 403,
      code: 'BrowserRequestRefused',
      message: `This local endpoint does not answer browsers: the request carries ${fetchMetadata}. Use an AWS SDK, the AWS CLI or curl.`,
    };
  }
  const type = mediaType(req);
  const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
  if ((type !== '' || hasBody) && !policy.bodyMediaTypes.includes(type)) {
    return {
      status: 415,
      code: 'UnsupportedMediaType',
      message: `This endpoint takes ${policy.bodyMediaTypes.join(' or ')} request bodies; got ${type === '' ? 'a body without Content-Type' : `Content-Type ${quoted(type)}`}.`,
    };
  }
  return undefined;
}

function browserFetchMetadata(h: http.IncomingHttpHeaders): string | undefined {
  const one = (name: string) => {
    const v = h[name];
    return Array.isArray(v) ? v.join(',') : v;
  };
  const site = one('sec-fetch-site');
  if (site !== undefined) return `Sec-Fetch-Site: ${quoted(site)}`;
  const user = one('sec-fetch-user');
  if (user !== undefined) return `Sec-Fetch-User: ${quoted(user)}`;
  const mode = one('sec-fetch-mode');
  if (mode !== undefined && mode.trim().toLowerCase() !== 'cors') return `Sec-Fetch-Mode: ${quoted(mode)}`;
  const dest = one('sec-fetch-dest');
  if (dest !== undefined && dest.trim().toLowerCase() !== 'empty') return `Sec-Fetch-Dest: ${quoted(dest)}`;
  return undefined;
}

/** A header value as it may appear in a message: JSON-quoted, at most 100 characters. */
function quoted(v: string): string {
  return JSON.stringify(v.length > 100 ? `${v.slice(0, 100)}...` : v);
}

/**
 * A node:http server that hands every request that passes `requestRefusal(req, policy)` to
 * `handle()`; the others are answered 403/415 by `refuse()` (JSON unless the protocol says
 * otherwise), their body unread, and nothing else happens. `handle()` answers its own errors in its protocol's format; one that still
 * escapes is logged (with `logPrefix`) and answered 500, and a malformed request gets a bare
 * 400, so a bad request never takes the server down.
 */
export abstract class LocalHttpServer {
  private readonly server: http.Server;

  constructor(logPrefix: string, policy: RequestPolicy) {
    this.server = http.createServer((req, res) => {
      const refusal = requestRefusal(req, policy);
      if (refusal) {
        process.stderr.write(`${logPrefix}: refused ${String(req.method).slice(0, 10)} request: ${refusal.code}\n`);
        this.refuse(res, refusal);
        req.resume();
        return;
      }
      this.handle(req, res).catch((e: unknown) => {
        // Last resort: handle() answers every error itself.
        process.stderr.write(`${logPrefix}: unexpected error while answering a request: ${(e as Error)?.stack ?? String(e)}\n`);
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    // Idle keep-alive connections stay open 65 s instead of Node's 5 s: a client that reuses an idle
    // socket just as the server closes it gets ECONNRESET, which the SDK retries but tests with
    // retries off (maxAttempts 1, to see each answer) would report as a failure.
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /**
   * Answers a refused request. JSON (`{"__type", "message"}`, `x-amzn-ErrorType`), which the
   * AWS JSON protocol's clients read as a named error; a protocol whose SDK parses something
   * else overrides this so the SDK still shows the code and message.
   */
  protected refuse(res: http.ServerResponse, refusal: Refusal): void {
    sendRefusal(res, refusal);
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

function sendRefusal(res: http.ServerResponse, r: Refusal): void {
  const text = JSON.stringify({ __type: r.code, message: r.message, Message: r.message });
  res.writeHead(r.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-ErrorType': r.code,
    // The body was not read: do not reuse the connection.
    Connection: 'close',
  });
  res.end(text);
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
