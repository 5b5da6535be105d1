import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import { LocalHttpServer, mediaType, readBody, type Refusal } from '../http-server-base';
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
/** Operations that change nothing; the only ones a presigned URL may call (see handle()). */
const READ_ONLY_ACTION = /^Describe/;

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
 *
 * Local clients only (local/http-server-base.ts, requestRefusal): a foreign Host, an Origin
 * header or a browser's Sec-Fetch-* headers are refused on every request. The Query protocol's
 * own content type, `application/x-www-form-urlencoded`, is one an HTML form can send across
 * sites without a CORS preflight, so unlike the JSON endpoint the media type cannot be what
 * stops a cross-site write; it is the signature: a page cannot attach an Authorization header
 * without a preflight (which carries Origin), so a request that changes something
 * (ModifyDBInstance, ModifyDBCluster) must carry one. A presigned URL (signature in the query
 * string, which a page can put in an `<img src>` or a form's action) is served for Describe*
 * only. AWS accepts presigned URLs for every action; the SDKs never use them.
 */
export class RdsHttpServer extends LocalHttpServer {
  constructor(
    private readonly deps: RdsHttpServerDeps,
    private readonly region: string,
  ) {
    super('rotor local RDS', { bodyMediaTypes: [FORM] });
  }

  /**
   * A refused request (foreign Host, Origin, browser, wrong media type) is answered in the Query
   * protocol's XML, not the default JSON: @aws-sdk/client-rds cannot parse a JSON body (it
   * reports "XML parse error"), so only XML shows the code and the reason to a misconfigured
   * client. A browser, the one refused on purpose, reads neither.
   */
  protected override refuse(res: http.ServerResponse, refusal: Refusal): void {
    const requestId = randomUUID();
    send(res, refusal.status, queryErrorResponse('Sender', refusal.code, refusal.message, requestId), requestId, true);
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
      if (!req.headers.authorization && !READ_ONLY_ACTION.test(act)) {
        throw new RdsError(
          'MissingAuthenticationToken',
          `The local RDS endpoint takes ${act} only with an Authorization header (SigV4, as the SDKs and the CLI send it), not a presigned URL: a web page could forge one.`,
          403,
        );
      }

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
