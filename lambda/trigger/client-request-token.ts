import { createHash } from 'node:crypto';

/**
 * The ClientRequestToken of the RotateSecret call for one secret and one
 * event: a UUID-shaped (version 8, RFC 9562 "custom") SHA-256 digest of both.
 * A redelivered event yields the same token, and Secrets Manager answers a
 * repeated token with the version it already created instead of starting a
 * second rotation.
 */
export function rotationToken(eventId: string, secretArn: string): string {
  const h = createHash('sha256').update(`rotor-trigger\n${eventId}\n${secretArn}`).digest();
  h[6] = (h[6] & 0x0f) | 0x80;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
