/** A NotificationSink that records what the domain asked to send (for tests of the domain and sweeper). */
import type { Notification, NotificationSink } from '../../src/presence/ports';

export class RecordingSink implements NotificationSink {
  readonly sent: Notification[] = [];
  async notify(list: Notification[]): Promise<void> {
    this.sent.push(...list);
  }
  clear(): void {
    this.sent.length = 0;
  }
}
