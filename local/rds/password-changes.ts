import type { PasswordChange, ResourceState } from './model';

interface Job {
  timer?: NodeJS.Timeout;
  done: Promise<void>;
  /** Cancels a change whose delay has not ended yet; no effect once applyPassword runs. */
  cancel(reason: string): void;
}

/**
 * Applies accepted master password changes after a delay, the way RDS does
 * asynchronously: the resource reads `resetting-master-credentials` from the
 * request until the change is done, then `available` again
 * (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html,
 * MasterUserPassword: "the change is asynchronously applied as soon as
 * possible. Between the time of the request and the completion of the
 * request, the MasterUserPassword element exists in the
 * PendingModifiedValues element of the operation response").
 *
 * The password lives only in the closure of the pending job: it is not
 * stored on the resource, recorded, or logged, and is masked out of the
 * error text of a failed applyPassword.
 */
export class PasswordChanger {
  private readonly records: PasswordChange[] = [];
  private readonly jobs = new Set<Job>();

  constructor(private readonly delayMs: number) {}

  start(res: ResourceState, newPassword: string): void {
    res.status = 'resetting-master-credentials';
    res.passwordPending = true;
    const rec: PasswordChange = { identifier: res.id, kind: res.kind, requestedAt: new Date().toISOString() };
    this.records.push(rec);

    let resolveDone!: () => void;
    const job: Job = {
      done: new Promise<void>((resolve) => (resolveDone = resolve)),
      cancel: (reason) => {
        if (job.timer === undefined) return;
        clearTimeout(job.timer);
        job.timer = undefined;
        finish(reason);
      },
    };
    const finish = (error?: string) => {
      if (error === undefined) rec.appliedAt = new Date().toISOString();
      else rec.error = error;
      // Failed or not, the resource is available again; after a failure the password is unchanged.
      res.status = 'available';
      res.passwordPending = false;
      this.jobs.delete(job);
      resolveDone();
    };
    job.timer = setTimeout(() => {
      job.timer = undefined;
      Promise.resolve()
        .then(() => res.applyPassword(newPassword))
        .then(
          () => finish(),
          (e: unknown) => finish(describeFailure(e, newPassword)),
        );
    }, this.delayMs);
    this.jobs.add(job);
  }

  /** Every change so far, oldest first (copies). */
  list(): PasswordChange[] {
    return this.records.map((r) => ({ ...r }));
  }

  /** Resolves when no change is pending or running. */
  async idle(): Promise<void> {
    while (this.jobs.size > 0) await Promise.all([...this.jobs].map((j) => j.done));
  }

  /** Cancels changes still waiting out their delay, and waits (up to `waitMs`) for running applyPassword calls. */
  async stop(waitMs: number): Promise<void> {
    for (const job of [...this.jobs]) job.cancel('the local RDS endpoint stopped before the change was applied');
    if (this.jobs.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }
}

function describeFailure(e: unknown, password: string): string {
  let text = e instanceof Error ? `${e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}` : String(e);
  if (password.length > 0) text = text.split(password).join('****');
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}
