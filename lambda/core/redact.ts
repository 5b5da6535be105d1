/**
 * Removes every known secret value from a piece of text. Used on driver
 * messages before they reach a log line or an error message, as a second
 * line of defence behind never building such text from secrets at all.
 */
export function redact(text: string, secrets: ReadonlyArray<string | undefined>): string {
  let out = text;
  const values = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4);
  // Longest first, so a password that contains another is removed whole.
  values.sort((a, b) => b.length - a.length);
  for (const value of values) {
    out = out.split(value).join('[REDACTED]');
  }
  return out;
}
