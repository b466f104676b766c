/**
 * KeyedLocks (lock_set_size): the requests of one presentity run one at a time in arrival order;
 * keys on different stripes run in parallel; a failing task does not break the chain.
 */
import { KeyedLocks } from '../../src/presence/locks';

/** A promise the test resolves or rejects by hand. */
function gate<T = void>(): { promise: Promise<T>; open: (v: T) => void; fail: (e: unknown) => void } {
  let open!: (v: T) => void;
  let fail!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    open = res;
    fail = rej;
  });
  return { promise, open, fail };
}

/** Let every queued microtask and immediate run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('KeyedLocks', () => {
  it('runs tasks of one key strictly one at a time, in arrival order', async () => {
    const locks = new KeyedLocks(8);
    const log: string[] = [];
    const gates = Array.from({ length: 5 }, () => gate());
    const runs = gates.map((g, i) => locks.run('sip:alice@x', async () => {
      log.push(`start ${i}`);
      await g.promise;
      log.push(`end ${i}`);
      return i;
    }));
    await settle();
    expect(log).toEqual(['start 0']);
    // Finish them out of order: each still waits for its predecessor.
    gates[3]?.open();
    gates[1]?.open();
    await settle();
    expect(log).toEqual(['start 0']);
    gates[0]?.open();
    await settle();
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2']);
    gates[2]?.open();
    gates[4]?.open();
    expect(await Promise.all(runs)).toEqual([0, 1, 2, 3, 4]);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3', 'start 4', 'end 4']);
  });

  it('keeps arrival order for 200 tasks of one key with random durations', async () => {
    const locks = new KeyedLocks(4);
    const order: number[] = [];
    let running = 0;
    let maxRunning = 0;
    await Promise.all(Array.from({ length: 200 }, (_, i) => locks.run('k', async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      for (let t = (i * 7919) % 5; t > 0; t--) await Promise.resolve();
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
      order.push(i);
      running--;
    })));
    expect(order).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(maxRunning).toBe(1);
  });

  it('runs keys on different stripes in parallel', async () => {
    // 2^16 stripes; FNV-1a puts 'sip:a@x' and 'sip:b@x' on different ones.
    const locks = new KeyedLocks(16);
    const a = gate();
    const log: string[] = [];
    const ra = locks.run('sip:a@x', async () => {
      log.push('a start');
      await a.promise;
      log.push('a end');
    });
    const rb = locks.run('sip:b@x', async () => {
      log.push('b ran');
    });
    await rb;
    expect(log).toEqual(['a start', 'b ran']);
    a.open();
    await ra;
    expect(log).toEqual(['a start', 'b ran', 'a end']);
  });

  it('runs many different keys concurrently (no global lock)', async () => {
    const locks = new KeyedLocks(16);
    let running = 0;
    let maxRunning = 0;
    const g = gate();
    const all = Array.from({ length: 50 }, (_, i) => locks.run(`sip:user${i}@example.com`, async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await g.promise;
      running--;
    }));
    await settle();
    g.open();
    await Promise.all(all);
    // Some keys may share a stripe (that is what stripes are), but far from all of them.
    expect(maxRunning).toBeGreaterThan(40);
  });

  it('serialises keys that share a stripe (lock_set_size 1: two stripes), still in arrival order', async () => {
    const locks = new KeyedLocks(1);
    let running = 0;
    let maxRunning = 0;
    const order: string[] = [];
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k) => locks.run(k, async () => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      await new Promise((r) => setImmediate(r));
      order.push(k);
      running--;
    })));
    expect(maxRunning).toBeLessThanOrEqual(2);
    expect(order).toHaveLength(10);
  });

  it('a throwing or rejecting task rejects its own caller and does not break the chain', async () => {
    const locks = new KeyedLocks(8);
    const log: string[] = [];
    const first = locks.run('k', async () => {
      log.push('1');
      throw new Error('boom');
    });
    const second = locks.run('k', () => {
      log.push('2');
      throw new Error('sync boom'); // a task that throws synchronously (not an async function)
    });
    const third = locks.run('k', async () => {
      log.push('3');
      return 'ok';
    });
    await expect(first).rejects.toThrow('boom');
    await expect(second).rejects.toThrow('sync boom');
    await expect(third).resolves.toBe('ok');
    expect(log).toEqual(['1', '2', '3']);
    // And the key is usable afterwards.
    await expect(locks.run('k', async () => 'again')).resolves.toBe('again');
  });

  it('a task that throws synchronously on an idle key gives a rejected promise, not a throw, and the key stays usable', async () => {
    const locks = new KeyedLocks(8);
    let p: Promise<unknown> | undefined;
    expect(() => {
      p = locks.run('idle', () => {
        throw new Error('sync on idle');
      });
    }).not.toThrow();
    await expect(p).rejects.toThrow('sync on idle');
    await expect(locks.run('idle', async () => 'next')).resolves.toBe('next');
  });

  it('frees a stripe once idle (no unbounded promise chain kept)', async () => {
    const locks = new KeyedLocks(2);
    await locks.run('k', async () => undefined);
    await settle();
    const tails = (locks as unknown as { tails: Array<Promise<unknown> | undefined> }).tails;
    expect(tails.every((t) => t === undefined)).toBe(true);
  });
});
