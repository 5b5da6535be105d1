import type { IncomingHttpHeaders } from 'node:http';
import { IncompleteSignatureException, InvalidSignatureException, MissingAuthenticationTokenException } from './errors';

/** SigV4 allows 15 minutes between the request's X-Amz-Date and the server clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;

/**
 * Checks that a request is SigV4-signed for this service and Region, the way
 * AWS refuses unsigned or malformed requests before looking at them
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-signing-elements.html).
 * The signature itself is not verified: credentials are not checked locally.
 */
export function checkSignature(headers: IncomingHttpHeaders, region: string, service: string, nowMs = Date.now()): void {
  const auth = headers.authorization;
  if (!auth) throw new MissingAuthenticationTokenException();
  const space = auth.indexOf(' ');
  const algorithm = space < 0 ? auth : auth.slice(0, space);
  if (algorithm !== 'AWS4-HMAC-SHA256') {
    throw new IncompleteSignatureException(`Unsupported AWS 'algorithm': '${algorithm.slice(0, 40)}'; use AWS4-HMAC-SHA256 (SigV4).`);
  }
  const params = new Map<string, string>();
  for (const part of auth.slice(space + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const missing = ['Credential', 'SignedHeaders', 'Signature'].filter((p) => !params.get(p));
  if (missing.length > 0) {
    throw new IncompleteSignatureException(missing.map((p) => `Authorization header requires '${p}' parameter.`).join(' '));
  }
  const credential = params.get('Credential')!.split('/');
  if (credential.length !== 5 || !credential[0] || !/^\d{8}$/.test(credential[1])) {
    throw new IncompleteSignatureException(
      "Authorization header's Credential is malformed; expected '<access key>/<YYYYMMDD>/<region>/<service>/aws4_request'.",
    );
  }
  const [, scopeDate, scopeRegion, scopeService, terminator] = credential;
  if (terminator !== 'aws4_request') {
    throw new IncompleteSignatureException(`Credential should be scoped with a valid terminator: 'aws4_request', not '${terminator.slice(0, 40)}'.`);
  }
  const signed = params.get('SignedHeaders')!.split(';');
  if (!signed.includes('host')) {
    throw new IncompleteSignatureException("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }
  if (!/^[0-9a-f]{64}$/.test(params.get('Signature')!)) {
    throw new IncompleteSignatureException('The Signature in the Authorization header must be 64 lower-case hexadecimal characters.');
  }
  const amzDate = headers['x-amz-date'];
  if (typeof amzDate !== 'string') {
    throw new IncompleteSignatureException("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) throw new IncompleteSignatureException(`X-Amz-Date must be in the ISO-8601 basic format YYYYMMDD'T'HHMMSS'Z', not '${amzDate.slice(0, 40)}'.`);
  if (scopeService !== service) {
    throw new InvalidSignatureException(`Credential should be scoped to correct service: '${service}'.`);
  }
  if (scopeRegion !== region) {
    throw new InvalidSignatureException(`Credential should be scoped to a valid region, not '${scopeRegion.slice(0, 40)}'. This endpoint serves '${region}'.`);
  }
  if (scopeDate !== amzDate.slice(0, 8)) {
    throw new InvalidSignatureException(
      `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`,
    );
  }
  const signedAt = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (Math.abs(nowMs - signedAt) > MAX_SKEW_MS) {
    throw new InvalidSignatureException(
      `Signature expired: ${amzDate} is now earlier or later than 15 minutes from ${new Date(nowMs).toISOString()}.`,
    );
  }
}
