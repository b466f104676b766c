/**
 * Runs the sweeper every clean_period seconds: a timer that never overlaps itself (the next run is
 * scheduled when the previous one ends), with a little jitter so that nodes sharing a database
 * drift apart, unref()'d, and cleared by stop(). node-cron only for an operator's clean_cron.
 */
import cron from 'node-cron';
import type { Logger } from '../log';

export interface SchedulerOptions {
  periodSec: number;
  cron: string;
  /** Fraction of the period added at random (0.1 = up to +10%). */
  jitter: number;
  random: () => number;
  log: Logger;
}

export class SweepScheduler {
  private timer: NodeJS.Timeout | null = null;
  private task: { stop(): void } | null = null;
  private running: Promise<unknown> | null = null;
  private stopped = true;

  constructor(
    private readonly run: () => Promise<unknown>,
    private readonly o: SchedulerOptions,
  ) {}

  start(): void {
    this.stopped = false;
    if (this.o.cron) {
      this.task = cron.schedule(this.o.cron, () => void this.runOnce());
      return;
    }
    this.arm();
  }

  /** Run a sweep now (admin API); waits for a running one instead of overlapping it. */
  async runOnce(): Promise<unknown> {
    if (this.running) return this.running;
    this.running = this.run()
      .catch((err: unknown) => this.o.log.error({ err }, 'sweep failed'))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private arm(): void {
    if (this.stopped) return;
    const ms = this.o.periodSec * 1000 * (1 + this.o.jitter * this.o.random());
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.runOnce().then(() => this.arm());
    }, ms);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.task?.stop();
    this.task = null;
    if (this.running) await this.running;
  }
}
