import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FaultInjector } from '../secrets-manager/faults';
import { checkSignature } from '../secrets-manager/signature-check';
import { internalFailure, invalidAction, missingAction, missingParameter, RdsError, toRdsError } from './errors';
import { operations, type OperationContext } from './operations';
import { QueryParams } from './query';
import { queryErrorResponse, queryResponse } from './xml';

/** Far above any request these operations take. */
const MAX_BODY_BYTES = 1024 * 1024;
export const RDS_API_VERSION = '2014-10-31';
const FORM = 'application/x-www-form-urlencoded';

export interface RdsHttpServerDeps {
  context: OperationContext;
  faults: FaultInjector;
}

/**
 * The AWS Query protocol over node:http, as `@aws-sdk/client-rds` speaks it:
 * `POST /` with `Content-Type: application/x-www-form-urlencoded` and a body
 * `Action=<Operation>&Version=2014-10-31&...` (GET / with the same query
 * string works too: "HTTP Query-based requests are HTTP requests that use the
 * HTTP verb GET or POST and a Query parameter named Action",
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Using_the_Query_API.html).
 * Answers `text/xml`: `<{Action}Response xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
 * <{Action}Result>..</{Action}Result><ResponseMetadata><RequestId>..` or, on error,
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`
 * with the error's HTTP status (https://smithy.io/2.0/aws/protocols/aws-query-protocol.html).
 *
 * Every request must be SigV4-signed for service `rds` and this Region
 * ("you must include a signature in every Query request", same page); the
 * signature's format and scope are checked, the credentials are not.
 * Request parameters (passwords included) are never logged.
 */
export class RdsHttpServer {
  private readonly server: http.Server;

  constructor(
    private readonly deps: RdsHttpServerDeps,
    private readonly region: string,
  ) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: unknown) => {
        process.stderr.write(`rotor local RDS: unexpected error while answering a request: ${(e as Error)?.stack ?? String(e)}\n`);
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = randomUUID();
    let action = '(unknown)';
    try {
      const body = await readBody(req);
      const url = new URL(req.url ?? '/', 'http://localhost');
      if ((req.method !== 'POST' && req.method !== 'GET') || url.pathname !== '/') {
        throw new RdsError('InvalidAction', `The RDS Query API takes POST / or GET / requests; got ${String(req.method).slice(0, 10)} ${url.pathname.slice(0, 100)}.`);
      }
      checkSignature(signatureHeaders(req.headers, url), this.region, 'rds');

      let params: QueryParams;
      if (req.method === 'GET') {
        params = new QueryParams(url.searchParams);
      } else {
        const contentType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
        if (contentType !== FORM) {
          throw new RdsError('InvalidQueryParameter', `The body of a Query request must be ${FORM}.`);
        }
        params = QueryParams.parse(body);
      }

      const act = params.string('Action');
      if (act === undefined || act === '') throw missingAction();
      action = act;
      const version = params.string('Version');
      if (version === undefined || version === '') throw missingParameter('Version');
      const op = version === RDS_API_VERSION ? operations.get(act) : undefined;
      if (!op) throw invalidAction(act, version);

      await this.deps.faults.apply(act);
      const result = op(params, this.deps.context);
      send(res, 200, queryResponse(act, result, requestId), requestId);
    } catch (e) {
      let err = toRdsError(e);
      if (!err) {
        // Only the error's text is written: never the request's parameters.
        process.stderr.write(`rotor local RDS: internal error in ${action}: ${(e as Error)?.stack ?? String(e)}\n`);
        err = internalFailure();
      }
      send(res, err.statusCode, queryErrorResponse(err.type, err.code, err.message, requestId), requestId, err.statusCode === 413);
    }
  }
}

/**
 * The headers to check: the request's own, or, for a presigned GET
 * (`X-Amz-Algorithm`, `X-Amz-Credential`, ... in the query string), the
 * equivalent Authorization header.
 */
function signatureHeaders(headers: http.IncomingHttpHeaders, url: URL): http.IncomingHttpHeaders {
  if (headers.authorization || !url.searchParams.has('X-Amz-Algorithm')) return headers;
  const q = (n: string) => url.searchParams.get(n) ?? '';
  return {
    ...headers,
    authorization: `${q('X-Amz-Algorithm')} Credential=${q('X-Amz-Credential')}, SignedHeaders=${q('X-Amz-SignedHeaders')}, Signature=${q('X-Amz-Signature')}`,
    'x-amz-date': q('X-Amz-Date'),
  };
}

function send(res: http.ServerResponse, status: number, xml: string, requestId: string, close = false): void {
  res.writeHead(status, {
    'Content-Type': 'text/xml',
    'Content-Length': Buffer.byteLength(xml),
    'x-amzn-RequestId': requestId,
    ...(close ? { Connection: 'close' } : {}),
  });
  res.end(xml);
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      if (tooLarge) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (tooLarge) reject(new RdsError('RequestEntityTooLarge', `The request body is larger than ${MAX_BODY_BYTES} bytes.`, 413));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}
