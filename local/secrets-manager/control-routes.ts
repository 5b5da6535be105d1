import type { FaultInjector, FaultSpec } from './faults';
import type { LifecycleLog, RotationLifecycleEvent } from './lifecycle-events';
import type { SecretStore } from './store';

/** Path prefix of the non-AWS routes; the SDKs only ever POST to "/". */
export const CONTROL_PREFIX = '/_rotor/';

export interface ControlDeps {
  store: SecretStore;
  log: LifecycleLog;
  faults: FaultInjector;
  eventFilter: (secretId: string) => (e: RotationLifecycleEvent) => boolean;
}

export interface ControlResponse {
  status: number;
  body: unknown;
}

/**
 * GET /_rotor/health, GET /_rotor/events[?secretId=], GET|POST|DELETE /_rotor/faults.
 * POST /_rotor/faults takes { clear?: boolean, rateLimits?: { [op]: tps | null }, inject?: FaultSpec | FaultSpec[] }.
 */
export function handleControl(method: string, url: URL, body: string, deps: ControlDeps): ControlResponse {
  const route = `${method} ${url.pathname.replace(/\/+$/, '')}`;
  try {
    switch (route) {
      case 'GET /_rotor/health':
        return { status: 200, body: { status: 'ok', region: deps.store.region, accountId: deps.store.accountId, secrets: deps.store.all().length } };
      case 'GET /_rotor/events': {
        const secretId = url.searchParams.get('secretId');
        return { status: 200, body: { events: deps.log.list(secretId ? deps.eventFilter(secretId) : undefined) } };
      }
      case 'GET /_rotor/faults':
        return { status: 200, body: deps.faults.describe() };
      case 'DELETE /_rotor/faults':
        deps.faults.clear();
        return { status: 200, body: deps.faults.describe() };
      case 'POST /_rotor/faults': {
        const req = parseObject(body);
        if (req.clear === true) deps.faults.clear();
        if (req.rateLimits !== undefined) {
          if (typeof req.rateLimits !== 'object' || req.rateLimits === null) throw new Error('rateLimits must be an object of op -> tps');
          for (const [op, tps] of Object.entries(req.rateLimits as Record<string, unknown>)) {
            deps.faults.setRateLimit(op, tps === null ? undefined : (tps as number));
          }
        }
        if (req.inject !== undefined) {
          const list = Array.isArray(req.inject) ? req.inject : [req.inject];
          for (const f of list) deps.faults.inject(f as FaultSpec);
        }
        return { status: 200, body: deps.faults.describe() };
      }
      default:
        return { status: 404, body: { message: `No control route ${route}. Routes: GET /_rotor/health, GET /_rotor/events, GET|POST|DELETE /_rotor/faults.` } };
    }
  } catch (e) {
    return { status: 400, body: { message: (e as Error).message } };
  }
}

function parseObject(body: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(body || '{}');
  } catch {
    throw new Error('the body must be JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('the body must be a JSON object');
  return v as Record<string, unknown>;
}
