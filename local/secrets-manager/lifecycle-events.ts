/**
 * Rotation lifecycle events, as Secrets Manager records them in CloudTrail
 * (and EventBridge delivers with detail-type "AWS Service Event via CloudTrail"):
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/cloudtrail_log_entries.html
 */
export type RotationLifecycleEventName =
  | 'RotationStarted'
  | 'RotationSucceeded'
  | 'RotationFailed'
  | 'RotationAbandoned'
  | 'TestRotationStarted'
  | 'TestRotationSucceeded'
  | 'TestRotationFailed';

export interface RotationLifecycleEvent {
  /** ISO-8601. */
  time: string;
  eventName: RotationLifecycleEventName;
  secretArn: string;
  secretName: string;
  versionId: string;
  /** 1-based; retries of a failed rotation count up. */
  attempt: number;
  step?: string;
  errorType?: string;
  errorMessage?: string;
  /** True on the event that ends the rotation (no retry follows). */
  final?: boolean;
}

const KEPT = 10_000;

interface Waiter {
  matches: (e: RotationLifecycleEvent) => boolean;
  resolve: (e: RotationLifecycleEvent) => void;
}

export function isTerminal(e: RotationLifecycleEvent): boolean {
  return e.final === true;
}

/** The event log, with waiters for terminal events. */
export class LifecycleLog {
  private readonly log: RotationLifecycleEvent[] = [];
  private readonly waiters = new Set<Waiter>();

  record(e: RotationLifecycleEvent): void {
    this.log.push(e);
    if (this.log.length > KEPT) this.log.splice(0, this.log.length - KEPT);
    if (!isTerminal(e)) return;
    for (const w of [...this.waiters]) {
      if (w.matches(e)) {
        this.waiters.delete(w);
        w.resolve(e);
      }
    }
  }

  list(matches?: (e: RotationLifecycleEvent) => boolean): RotationLifecycleEvent[] {
    return (matches ? this.log.filter(matches) : this.log).map((e) => ({ ...e }));
  }

  latestTerminal(matches: (e: RotationLifecycleEvent) => boolean): RotationLifecycleEvent | undefined {
    for (let i = this.log.length - 1; i >= 0; i--) {
      const e = this.log[i];
      if (isTerminal(e) && matches(e)) return { ...e };
    }
    return undefined;
  }

  /** Resolves with the next terminal event that matches; rejects after timeoutMs. */
  nextTerminal(matches: (e: RotationLifecycleEvent) => boolean, timeoutMs: number, what: string): Promise<RotationLifecycleEvent> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        matches,
        resolve: (e) => {
          clearTimeout(timer);
          resolve({ ...e });
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`No rotation of ${what} ended within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }
}
