/**
 * Ordering per presentity without a global lock: requests naming the same key run one at a time,
 * in arrival order, on one of 2^lock_set_size stripes (the classic module's lock set); different
 * stripes run in parallel. A failing task does not break the chain.
 */
export class KeyedLocks {
  private readonly tails: Array<Promise<unknown> | undefined>;
  private readonly mask: number;

  constructor(lockSetSize: number) {
    const n = 2 ** lockSetSize;
    this.tails = new Array<Promise<unknown> | undefined>(n);
    this.mask = n - 1;
  }

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const i = hash(key) & this.mask;
    const prev = this.tails[i];
    // A task that throws synchronously still yields a rejected promise (the chain and the caller's await hold).
    const start = (): Promise<T> => new Promise<T>((resolve) => resolve(task()));
    const next = prev ? prev.then(start, start) : start();
    const tail = next.then(noop, noop);
    this.tails[i] = tail;
    void tail.then(() => {
      if (this.tails[i] === tail) this.tails[i] = undefined;
    });
    return next;
  }
}

function noop(): void {}

/** FNV-1a, 32 bit. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
