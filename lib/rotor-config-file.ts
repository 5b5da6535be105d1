import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseRotorConfig, type RotorConfig, RotorConfigError } from './rotor-config';

export const CONFIG_FILE = 'rotor.config.json';
export const EXAMPLE_CONFIG_FILE = 'rotor.config.example.json';

/** Reads rotor.config.json from `dir`, or rotor.config.example.json when it is absent. */
export function loadRotorConfig(dir: string, file?: string): { config: RotorConfig; file: string } {
  const chosen = file ? path.resolve(dir, file) : [CONFIG_FILE, EXAMPLE_CONFIG_FILE].map((f) => path.join(dir, f)).find((f) => existsSync(f));
  if (!chosen || !existsSync(chosen)) {
    throw new RotorConfigError('$', `not found: create ${CONFIG_FILE} in ${dir} (copy ${EXAMPLE_CONFIG_FILE}).`, file ?? CONFIG_FILE);
  }
  const name = path.basename(chosen);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(chosen, 'utf8'));
  } catch (e) {
    throw new RotorConfigError('$', `is not valid JSON: ${(e as Error).message}`, name);
  }
  return { config: parseRotorConfig(raw, name), file: chosen };
}
