import { redact } from '../../lambda/core/redact';

/**
 * redact(): the second line of defence that removes secret values from driver messages before
 * they reach a log line or an error (lambda/core/redact.ts). Behaviour only; no database.
 */
describe('redact', () => {
  it('replaces every occurrence of a secret with [REDACTED]', () => {
    expect(redact('pw=s3cr3t! again s3cr3t! end', ['s3cr3t!'])).toBe('pw=[REDACTED] again [REDACTED] end');
  });

  it('removes a longer secret whole when it contains a shorter one, whatever the order given', () => {
    // "abcd" is inside "xxabcdyy": shortest-first would leave "xx[REDACTED]yy" with the rest of the long one.
    expect(redact('long=xxabcdyy short=abcd', ['abcd', 'xxabcdyy'])).toBe('long=[REDACTED] short=[REDACTED]');
    expect(redact('long=xxabcdyy short=abcd', ['xxabcdyy', 'abcd'])).toBe('long=[REDACTED] short=[REDACTED]');
  });

  it('sorts by length, not by position or alphabet (three overlapping secrets)', () => {
    const secrets = ['bcde', 'abcdefgh', 'zabcdefghz'];
    expect(redact('[zabcdefghz][abcdefgh][bcde]', secrets)).toBe('[[REDACTED]][[REDACTED]][[REDACTED]]');
    expect(redact('[zabcdefghz][abcdefgh][bcde]', [...secrets].reverse())).toBe('[[REDACTED]][[REDACTED]][[REDACTED]]');
  });

  it('redacts secrets of exactly four characters and leaves shorter ones (they would blank ordinary words)', () => {
    expect(redact('code wxyz here', ['wxyz'])).toBe('code [REDACTED] here');
    expect(redact('the cat sat', ['cat'])).toBe('the cat sat');
    expect(redact('a b', [''])).toBe('a b');
  });

  it('ignores undefined entries and still redacts the others', () => {
    expect(redact('user pass1234 done', [undefined, 'pass1234', undefined])).toBe('user [REDACTED] done');
  });

  it('returns the text unchanged when there is nothing to redact', () => {
    expect(redact('nothing here', [])).toBe('nothing here');
    expect(redact('nothing here', ['absent-value'])).toBe('nothing here');
  });

  it('treats secrets literally, not as patterns', () => {
    expect(redact('x a.b*c+d y aXbbbcd', ['a.b*c+d'])).toBe('x [REDACTED] y aXbbbcd');
  });
});
