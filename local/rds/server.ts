import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import { LocalHttpServer, mediaType, readBody } from '../http-server-base';
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
export class RdsHttpServer extends LocalHttpServer {
  constructor(
    private readonly deps: RdsHttpServerDeps,
    private readonly region: string,
  ) {
    super('rotor local RDS');
  }

  protected override async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = randomUUID();
    let action = '(unknown)';
    try {
      const body = await readBody(req, MAX_BODY_BYTES, () => new RdsError('RequestEntityTooLarge', `The request body is larger than ${MAX_BODY_BYTES} bytes.`, 413));
      const url = new URL(req.url ?? '/', 'http://localhost');
      if ((req.method !== 'POST' && req.method !== 'GET') || url.pathname !== '/') {
        throw new RdsError('InvalidAction', `The RDS Query API takes POST / or GET / requests; got ${String(req.method).slice(0, 10)} ${url.pathname.slice(0, 100)}.`);
      }
      checkSignature(signatureHeaders(req.headers, url), this.region, 'rds');

      let params: QueryParams;
      if (req.method === 'GET') {
        params = new QueryParams(url.searchParams);
      } else {
        if (mediaType(req) !== FORM) {
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
