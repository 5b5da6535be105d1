import { randomUUID } from 'node:crypto';
import type * as http from 'node:http';
import { LocalHttpServer, mediaType, readBody } from '../http-server-base';
import { CONTROL_PREFIX, handleControl, type ControlDeps } from './control-routes';
import {
  InternalServiceError,
  isServiceError,
  RequestEntityTooLargeException,
  SerializationException,
  UnknownOperationException,
  type ServiceError,
} from './errors';
import type { FaultInjector } from './faults';
import { parseInput } from './input-shape';
import type { OperationContext } from './operations/context';
import { operations } from './operations';
import type { StatePersistence } from './persistence';
import { checkSignature } from './signature-check';
import { CLOUDTRAIL_TARGETS } from '../cloudtrail/lookup-events';

/** Far above any valid request (a 64 KB secret JSON-escaped is a few hundred KB). */
const MAX_BODY_BYTES = 2 * 1024 * 1024;
const TARGET_PREFIX = 'secretsmanager.';
const JSON_CONTENT_TYPE = 'application/x-amz-json-1.1';
/**
 * The only request bodies served, on every route: AWS JSON 1.1 for the API, plain JSON for the
 * control routes. Neither can be sent by a web page without a CORS preflight, which carries
 * Origin and is refused (local/http-server-base.ts, requestRefusal).
 */
const BODY_MEDIA_TYPES = [JSON_CONTENT_TYPE, 'application/json'] as const;

export interface HttpServerDeps {
  context: OperationContext;
  faults: FaultInjector;
  persistence?: StatePersistence;
  control: ControlDeps;
  /**
   * CloudTrail's LookupEvents over the rotation lifecycle events (local/cloudtrail/lookup-events.ts),
   * served on the same port so AWS_ENDPOINT_URL_CLOUDTRAIL can name this endpoint.
   */
  lookupEvents?: (input: unknown) => unknown;
}

/**
 * The AWS JSON 1.1 protocol over node:http: `POST /` with
 * `X-Amz-Target: secretsmanager.<Operation>`, a SigV4 Authorization header
 * and a JSON body; answers 200 with JSON, or an error status with
 * `{"__type": "<ErrorName>", "message": "..."}` and `x-amzn-ErrorType`
 * (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html).
 * A bad request never takes the server down.
 */
export class SecretsManagerHttpServer extends LocalHttpServer {
  constructor(private readonly deps: HttpServerDeps) {
    super('rotor local', { bodyMediaTypes: BODY_MEDIA_TYPES });
  }

  protected override async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = randomUUID();
    let opName = '(unknown)';
    try {
      const body = await readBody(req, MAX_BODY_BYTES, () => new RequestEntityTooLargeException(`The request body is larger than ${MAX_BODY_BYTES} bytes.`));
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname.startsWith(CONTROL_PREFIX)) {
        const out = handleControl(req.method ?? 'GET', url, body, this.deps.control);
        return sendJson(res, out.status, out.body, { 'Content-Type': 'application/json' });
      }
      if (req.method !== 'POST' || url.pathname !== '/') {
        throw new UnknownOperationException(`Secrets Manager takes POST / requests; got ${req.method} ${url.pathname.slice(0, 100)}.`);
      }
      const { store } = this.deps.context;
      const target = req.headers['x-amz-target'];
      if (typeof target === 'string' && (CLOUDTRAIL_TARGETS as readonly string[]).includes(target) && this.deps.lookupEvents) {
        opName = 'CloudTrail.LookupEvents';
        // https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
        checkSignature(req.headers, store.region, 'cloudtrail');
        if (mediaType(req) !== JSON_CONTENT_TYPE) {
          throw new UnknownOperationException(`Content-Type must be ${JSON_CONTENT_TYPE} for the AWS JSON 1.1 protocol.`);
        }
        let json: unknown;
        try {
          json = JSON.parse(body || '{}');
        } catch {
          throw new SerializationException('The request body is not valid JSON.');
        }
        // Seen by the interceptor like every Secrets Manager operation (tests record which calls a command makes).
        const call = { op: opName, input: json as Record<string, unknown>, headers: req.headers };
        await this.deps.faults.intercept({ ...call, phase: 'before' });
        const output = this.deps.lookupEvents(json);
        await this.deps.faults.intercept({ ...call, phase: 'after' });
        return sendJson(res, 200, output, { 'Content-Type': JSON_CONTENT_TYPE, 'x-amzn-RequestId': requestId });
      }
      checkSignature(req.headers, store.region, 'secretsmanager');
      const op = typeof target === 'string' && target.startsWith(TARGET_PREFIX) ? operations.get(target.slice(TARGET_PREFIX.length)) : undefined;
      if (!op) throw new UnknownOperationException();
      opName = (target as string).slice(TARGET_PREFIX.length);
      if (mediaType(req) !== JSON_CONTENT_TYPE) {
        throw new UnknownOperationException(`Content-Type must be ${JSON_CONTENT_TYPE} for the AWS JSON 1.1 protocol.`);
      }
      await this.deps.faults.apply(opName);

      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        throw new SerializationException(body.trim() === '' ? 'The request body is empty; send a JSON object.' : 'The request body is not valid JSON.');
      }
      const input = parseInput(op.shape, json);
      const call = { op: opName, input: input as Record<string, unknown>, headers: req.headers };
      await this.deps.faults.intercept({ ...call, phase: 'before' });
      const before = store.revision;
      let output: unknown;
      try {
        output = op.handler(input, this.deps.context);
      } catch (e) {
        // The call happened and its answer is an error: the interceptor's `after` applies to it too.
        await this.deps.faults.intercept({ ...call, phase: 'after' });
        throw e;
      }
      if (store.revision !== before && this.deps.persistence) {
        try {
          await this.deps.persistence.save();
        } catch (e) {
          process.stderr.write(`rotor local: could not save the state file: ${(e as Error).message}\n`);
          // The change is in effect in memory (requests are not transactions over the file); say so
          // rather than pretend it was refused. The start-time trial write (persistence.ts) makes this rare.
          throw new InternalServiceError('The change was made, but the local endpoint could not save its state file: it is lost when the endpoint stops.');
        }
      }
      await this.deps.faults.intercept({ ...call, phase: 'after' });
      sendJson(res, 200, output, { 'Content-Type': JSON_CONTENT_TYPE, 'x-amzn-RequestId': requestId });
    } catch (e) {
      let err: ServiceError;
      if (isServiceError(e)) {
        err = e;
      } else {
        process.stderr.write(`rotor local: internal error in ${opName}: ${(e as Error)?.stack ?? String(e)}\n`);
        err = new InternalServiceError();
      }
      const headers: http.OutgoingHttpHeaders = {
        'Content-Type': JSON_CONTENT_TYPE,
        'x-amzn-RequestId': requestId,
        'x-amzn-ErrorType': err.errorName,
      };
      if (err instanceof RequestEntityTooLargeException) headers.Connection = 'close';
      sendJson(res, err.statusCode, { __type: err.errorName, message: err.message, Message: err.message }, headers);
    }
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}
