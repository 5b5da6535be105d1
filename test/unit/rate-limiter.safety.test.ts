import { TokenBucket, delay, mapWithConcurrency } from '../../lambda/trigger/rate-limiter';

/**
 * The trigger's RotateSecret pacing (lambda/trigger/rate-limiter.ts), on a
 * controlled clock: Date.now is the test's, and the bucket's sleep advances it
 * and records how long each wait was. No real time passes.
 */
function clocked(rate: number, burst?: number) {
  let now = 1_000_000;
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => now);
  const sleeps: number[] = [];
  const bucket = new TokenBucket(rate, burst, async (ms) => {
    sleeps.push(ms);
    now += ms;
  });
  return { bucket, sleeps, advance: (ms: number) => (now += ms), now: () => now, restore: () => spy.mockRestore() };
}

afterEach(() => jest.restoreAllMocks());

describe('TokenBucket', () => {
  test('a full burst is taken without waiting; the next token waits exactly 1/rate', async () => {
    const c = clocked(2, 3);
    for (let i = 0; i < 3; i++) await c.bucket.take();
    expect(c.sleeps).toEqual([]);
    await c.bucket.take();
    expect(c.sleeps).toEqual([500]);
  });

  test('the default burst is one token', async () => {
    const c = clocked(4);
    await c.bucket.take();
    await c.bucket.take();
    expect(c.sleeps).toEqual([250]);
  });

  test('tokens refill with elapsed time, never beyond the burst', async () => {
    const c = clocked(1, 2);
    await c.bucket.take();
    await c.bucket.take();
    c.advance(10_000); // ten tokens' worth, capped at two
    await c.bucket.take();
    await c.bucket.take();
    expect(c.sleeps).toEqual([]);
    await c.bucket.take();
    expect(c.sleeps).toEqual([1000]);
  });

  test('a partly refilled token waits only for the rest of it', async () => {
    const c = clocked(1, 1);
    await c.bucket.take();
    c.advance(300);
    await c.bucket.take();
    expect(c.sleeps).toEqual([700]);
  });

  test('n calls in a row take (n - burst) / rate seconds of waits, in order', async () => {
    const c = clocked(10, 2);
    const order: number[] = [];
    await Promise.all(Array.from({ length: 6 }, (_, i) => c.bucket.take().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(c.sleeps.reduce((a, b) => a + b, 0)).toBe(400);
    expect(c.sleeps).toEqual([100, 100, 100, 100]);
  });
});

describe('delay', () => {
  test('resolves through setTimeout with the given milliseconds', async () => {
    jest.useFakeTimers();
    try {
      let done = false;
      const p = delay(1000).then(() => (done = true));
      await jest.advanceTimersByTimeAsync(999);
      expect(done).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      await p;
      expect(done).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('mapWithConcurrency', () => {
  test('results in input order, each item once, with its index', async () => {
    const seen: string[] = [];
    const out = await mapWithConcurrency(['a', 'b', 'c', 'd', 'e'], 2, async (x, i) => {
      seen.push(x);
      await Promise.resolve();
      return `${x}${i}`;
    });
    expect(out).toEqual(['a0', 'b1', 'c2', 'd3', 'e4']);
    expect(seen.sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  test('never more than the limit in flight, and the limit is used', async () => {
    let inFlight = 0;
    let max = 0;
    const gates: Array<() => void> = [];
    const run = mapWithConcurrency([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight++;
      max = Math.max(max, inFlight);
      await new Promise<void>((r) => gates.push(r));
      inFlight--;
      return n * 2;
    });
    while (gates.length || inFlight) {
      await new Promise((r) => setImmediate(r));
      gates.shift()?.();
    }
    expect(await run).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(max).toBe(3);
  });

  test('no items: no call, an empty result', async () => {
    const fn = jest.fn();
    expect(await mapWithConcurrency([], 4, fn)).toEqual([]);
    expect(fn).not.toHaveBeenCalled();
  });
});
