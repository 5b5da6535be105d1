import { constants as fsConstants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { PersistedState } from './model';
import type { SecretStore } from './store';

/**
 * Keeps the store in a JSON file. Every save writes a temporary file in the
 * same directory (mode 0600: it holds secret values), fsyncs it and renames
 * it over the state file, so a reader sees the old or the new state, never a
 * half-written one. Saves are serialised and coalesced: a save covers every
 * change made before it started.
 */
export class StatePersistence {
  private saved = 0;
  private running?: Promise<void>;
  private tmpCounter = 0;

  constructor(
    private readonly file: string,
    private readonly store: SecretStore,
  ) {}

  /**
   * Loads the file if it exists. A file that is not valid state is an error, never silently ignored.
   * When there is none yet, its folder is created (mode 0700) and the empty state written once, so
   * a path that cannot be written stops the start with its reason instead of failing every change.
   */
  async load(): Promise<boolean> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if (!['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      try {
        await fs.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
        await this.writeAtomically(JSON.stringify(this.store.snapshot(), null, 1));
      } catch (w) {
        throw new Error(`The state file ${this.file} cannot be written (${(w as Error).message}); choose another --state path.`);
      }
      this.saved = this.store.revision;
      return false;
    }
    let state: PersistedState;
    try {
      state = JSON.parse(text) as PersistedState;
    } catch (e) {
      throw new Error(`The state file ${this.file} is not valid JSON (${(e as Error).message}); move it away to start empty.`);
    }
    if (state?.formatVersion !== 1 || !Array.isArray(state.secrets)) {
      throw new Error(`The state file ${this.file} is not a rotor local state file (formatVersion 1).`);
    }
    this.store.load(state);
    this.saved = this.store.revision;
    return true;
  }

  /** Resolves once every change made so far is on disk. */
  async save(): Promise<void> {
    const target = this.store.revision;
    while (this.saved < target) {
      if (!this.running) {
        this.running = this.writeLoop().finally(() => {
          this.running = undefined;
        });
      }
      await this.running;
    }
  }

  private async writeLoop(): Promise<void> {
    while (this.saved < this.store.revision) {
      const revision = this.store.revision;
      const json = JSON.stringify(this.store.snapshot(), null, 1);
      await this.writeAtomically(json);
      this.saved = revision;
    }
  }

  private async writeAtomically(data: string): Promise<void> {
    const dir = path.dirname(this.file);
    const tmp = path.join(dir, `.${path.basename(this.file)}.${process.pid}.${++this.tmpCounter}.tmp`);
    const handle = await fs.open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC, 0o600);
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await fs.rename(tmp, this.file);
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw e;
    }
    // Make the rename itself durable (best effort: not every platform can fsync a directory).
    try {
      const d = await fs.open(dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      /* ignore */
    }
  }
}
