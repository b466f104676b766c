/** The coalescer (src/store/coalescer.ts): calls of one turn share one load; same keys never do. */
import { Coalescer } from '../../src/store/coalescer';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Coalescer', () => {
  it('answers the calls of one turn with one load, each call its own result in order', async () => {
    const loads: number[][] = [];
    const c = new Coalescer<number, number>(async (xs) => (loads.push([...xs]), xs.map((x) => x * 10)), { maxBatch: 100, maxInFlight: 1 });
    const out = await Promise.all([1, 2, 3].map((x) => c.call(x)));
    expect(out).toEqual([10, 20, 30]);
    expect(loads).toEqual([[1, 2, 3]]);
  });

  it('never puts two calls with the same key in one load, keeping their order', async () => {
    const loads: string[][] = [];
    const c = new Coalescer<string, string>(async (xs) => (loads.push([...xs]), xs), { maxBatch: 100, maxInFlight: 1, key: (x) => x[0] as string });
    await Promise.all(['a1', 'b1', 'a2', 'c1', 'a3'].map((x) => c.call(x)));
    expect(loads).toEqual([['a1', 'b1', 'c1'], ['a2'], ['a3']]);
  });

  it('splits at maxBatch and keeps at most maxInFlight loads running, gathering the rest meanwhile', async () => {
    let running = 0;
    let most = 0;
    const sizes: number[] = [];
    const c = new Coalescer<number, number>(async (xs) => {
      running++;
      most = Math.max(most, running);
      sizes.push(xs.length);
      await turn();
      running--;
      return xs;
    }, { maxBatch: 4, maxInFlight: 2 });
    const first = Array.from({ length: 10 }, (_, i) => c.call(i));
    await turn();
    const later = Array.from({ length: 3 }, (_, i) => c.call(100 + i));
    expect(await Promise.all([...first, ...later])).toEqual([...Array.from({ length: 10 }, (_, i) => i), 100, 101, 102]);
    expect(most).toBe(2);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(13);
    expect(Math.max(...sizes)).toBe(4);
  });

  it('rejects every call of a failed load, and serves the next turn normally', async () => {
    let fail = true;
    const c = new Coalescer<number, number>(async (xs) => {
      if (fail) throw new Error('db down');
      return xs;
    }, { maxBatch: 10, maxInFlight: 1 });
    const r = await Promise.allSettled([c.call(1), c.call(2)]);
    expect(r.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await c.call(3)).toBe(3);
  });

  it('rejects when a load returns the wrong number of results', async () => {
    const c = new Coalescer<number, number>(async () => [1], { maxBatch: 10, maxInFlight: 1 });
    await expect(Promise.all([c.call(1), c.call(2)])).rejects.toThrow(/2 calls/);
  });
});

describe('Coalescer with several statements in flight', () => {
  it('runs same-key calls one after another even when another statement could start', async () => {
    const log: string[] = [];
    const c = new Coalescer<string, string>(async (xs) => {
      log.push(`start ${xs.join(',')}`);
      await turn();
      await turn();
      log.push(`end ${xs.join(',')}`);
      return xs;
    }, { maxBatch: 10, maxInFlight: 4, key: (x) => x[0] as string });
    await Promise.all(['a1', 'b1', 'a2', 'a3'].map((x) => c.call(x)));
    expect(log).toEqual(['start a1,b1', 'end a1,b1', 'start a2', 'end a2', 'start a3', 'end a3']);
  });
});
