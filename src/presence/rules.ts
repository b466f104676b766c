/**
 * Presence authorization rules as a domain service (RFC 5025 §3.2.1 sub-handling, seed 001 pres_rules):
 * a rule is stored, then every live presence subscription it affects is re-evaluated and told:
 * pending → active gets a NOTIFY with the document, → block gets NOTIFY terminated;reason=rejected and
 * is removed, polite-block gets the closed document, active → confirm goes back to pending; the
 * presentity's presence.winfo watchers hear about every watcher whose status changed (RFC 3857 §3.3).
 */
import type { Clock } from '../clock';
import { PresenceError } from '../errors';
import { canonicalAor } from './aor';
import { authorize, ruleForWatcher, type Decision } from './authorization';
import type { Fanout } from './fanout';
import type { KeyedLocks } from './locks';
import type { PresRule, RuleAction, Subscription, WatcherRecord } from './model';
import type { Repositories, Store } from './ports';
import { transition } from './subscription-state';
import type { SubscriptionService } from './subscriptions';

export const RULE_ACTIONS: readonly RuleAction[] = ['allow', 'block', 'polite-block', 'confirm'];

export interface RuleInput {
  presentity: string;
  /** A watcher AOR (`sip:bob@example.com`) or a whole domain (`example.com`). */
  watcher: string;
  action: RuleAction;
}

/** What a rule change does to one subscription. */
export type RuleEffect =
  /** pending → active (allow, polite-block): NOTIFY with the (maybe closed) document. */
  | 'activate'
  /** active → pending (confirm, or the rule removed): NOTIFY pending without body. */
  | 'suspend'
  /** → block: NOTIFY terminated;reason=rejected, subscription removed. */
  | 'reject'
  /** active stays active, polite-block switched on or off: NOTIFY with the other document. */
  | 'renotify';

export interface PlannedChange {
  subscription: Subscription;
  effect: RuleEffect;
  decision: Decision;
}

export interface RuleOutcome {
  rule: PresRule | null;
  /** Live presence subscriptions the rule applies to (before filtering those it leaves unchanged). */
  evaluated: number;
  changes: Array<{ subscriptionId: string; watcher: string; effect: RuleEffect }>;
}

export interface PresenceRulesOptions {
  store: Store;
  fanout: Fanout;
  subscriptions: SubscriptionService;
  locks: KeyedLocks;
  clock: Clock;
  forceActive: boolean;
}

export class PresenceRules {
  constructor(private readonly o: PresenceRulesOptions) {}

  /** Store (insert or replace) a rule, then re-evaluate and tell the subscriptions it affects. */
  async setRule(input: RuleInput): Promise<RuleOutcome> {
    const rule: PresRule = { ...normalizeRule(input), updatedAt: this.o.clock.now() };
    return this.change(rule.presentity, rule.watcher, rule, async (tx) => {
      await tx.rules.put(rule);
    });
  }

  /** Remove the rule for (presentity, watcher); the affected subscriptions fall back to the next rule or pending. */
  async removeRule(presentity: string, watcher: string): Promise<RuleOutcome & { removed: boolean }> {
    const key = normalizeRule({ presentity, watcher, action: 'confirm' });
    let removed = false;
    const outcome = await this.change(key.presentity, key.watcher, null, async (tx) => {
      removed = await tx.rules.remove(key.presentity, key.watcher);
    });
    return { ...outcome, removed };
  }

  private async change(presentity: string, watcher: string, rule: PresRule | null, write: (tx: Repositories) => Promise<void>): Promise<RuleOutcome> {
    return this.o.locks.run(presentity, async () => {
      const now = this.o.clock.now();
      const planned = await this.o.store.transaction(async (tx) => {
        const before = await tx.rules.list(presentity);
        await write(tx);
        const after = await tx.rules.list(presentity);
        const subs = (await tx.subscriptions.forWatcher(presentity, watcher, now)).filter((s) => s.event === 'presence');
        const plan = planRuleChange(subs, before, after, this.o.forceActive);
        for (const c of plan) {
          const patch = patchFor(c);
          if (patch) await tx.subscriptions.update(c.subscription.id, { ...patch, updatedAt: now });
          const rec = recordFor(c, now);
          if (rec) await tx.watchers.upsert(rec);
        }
        return { plan, evaluated: subs.length };
      });
      await this.tell(presentity, planned.plan, now);
      // HTTP watchers too: one just allowed gets the status it may now see (http-watchers.ts).
      this.o.fanout.rulesChanged(presentity);
      return {
        rule,
        evaluated: planned.evaluated,
        changes: planned.plan.map((c) => ({ subscriptionId: c.subscription.id, watcher: c.subscription.watcher, effect: c.effect })),
      };
    });
  }

  /** After the commit: the watchers' NOTIFYs, then the winfo watchers' partial update. */
  private async tell(presentity: string, plan: PlannedChange[], now: number): Promise<void> {
    const records: WatcherRecord[] = [];
    for (const c of plan) {
      const s = c.subscription;
      switch (c.effect) {
        case 'reject':
          // RFC 6665 §4.2.2 / RFC 5025 §3.2.1 block: "terminated;reason=rejected"; end() removes it and gives winfo the full list.
          await this.o.subscriptions.end({ ...s, state: 'terminated', reason: 'rejected' }, 'rejected');
          break;
        case 'activate':
        case 'renotify':
          await this.o.fanout.notifyOne({ ...s, state: 'active', updatedAt: now });
          break;
        case 'suspend':
          await this.o.fanout.notifyOne({ ...s, state: 'pending', updatedAt: now });
          break;
      }
      const rec = recordFor(c, now);
      if (rec && c.effect !== 'reject') records.push(rec);
    }
    // RFC 3857 §3.3: a watcher's status changed (pending → active, active → pending): a partial document.
    if (records.length > 0) await this.o.fanout.watchersChanged(presentity, records);
  }
}

/**
 * Pure: what a change of the presentity's rules (`before` → `after`) does to each subscription.
 * Subscriptions whose decision does not change are left out.
 */
export function planRuleChange(subs: readonly Subscription[], before: readonly PresRule[], after: readonly PresRule[], forceActive: boolean): PlannedChange[] {
  const out: PlannedChange[] = [];
  for (const s of subs) {
    if (s.state === 'terminated') continue;
    const was = authorize(forceActive, ruleForWatcher(before, s.watcher));
    const now = authorize(forceActive, ruleForWatcher(after, s.watcher));
    if (now.state === 'rejected') {
      out.push({ subscription: s, effect: 'reject', decision: now });
    } else if (now.state === 'active' && s.state === 'pending') {
      out.push({ subscription: s, effect: 'activate', decision: now });
    } else if (now.state === 'pending' && s.state === 'active') {
      out.push({ subscription: s, effect: 'suspend', decision: now });
    } else if (now.state === 'active' && s.state === 'active' && was.polite !== now.polite) {
      out.push({ subscription: s, effect: 'renotify', decision: now });
    }
  }
  return out;
}

function patchFor(c: PlannedChange): Pick<Subscription, 'state' | 'reason'> | null {
  const s = c.subscription;
  switch (c.effect) {
    // Terminated at once so that no PUBLISH fan-out reaches a blocked watcher before it is removed.
    case 'reject': return { state: transition(s.state, 'terminated'), reason: 'rejected' };
    case 'activate': return { state: transition(s.state, 'active'), reason: null };
    case 'suspend': return { state: transition(s.state, 'pending'), reason: null };
    case 'renotify': return null;
  }
}

function recordFor(c: PlannedChange, now: number): WatcherRecord | null {
  const s = c.subscription;
  const base = { presentity: s.presentity, watcher: s.watcher, watcherDisplayName: s.watcherDisplayName, event: s.event, subscriptionId: s.id, createdAt: s.createdAt, updatedAt: now };
  switch (c.effect) {
    // RFC 3857 §3.1: pending → active is the "approved" event.
    case 'activate': return { ...base, status: 'active', lastEvent: 'approved' };
    case 'suspend': return { ...base, status: 'pending', lastEvent: 'subscribe' };
    // The record of a rejected watcher is written by SubscriptionService.end() when it is removed.
    case 'reject': return null;
    case 'renotify': return null;
  }
}

/** Canonical presentity AOR; watcher as a canonical AOR or a lower-case domain; a known action. 400 otherwise. */
export function normalizeRule(input: RuleInput): RuleInput {
  const presentity = canonicalAor(input.presentity);
  if (!presentity || !presentity.includes('@')) throw new PresenceError('BAD_REQUEST', 'Bad presentity in rule');
  if (!RULE_ACTIONS.includes(input.action)) throw new PresenceError('BAD_REQUEST', `Bad rule action (one of ${RULE_ACTIONS.join(', ')})`);
  const w = input.watcher.trim();
  let watcher: string | undefined;
  if (w.includes('@')) {
    watcher = canonicalAor(/^(sips?|pres):/i.test(w) ? w : `sip:${w}`);
  } else {
    const domain = w.replace(/^sips?:/i, '').toLowerCase();
    watcher = /^[a-z0-9.\-_]+$|^\[[0-9a-f:.]+\]$/.test(domain) ? domain : undefined;
  }
  if (!watcher) throw new PresenceError('BAD_REQUEST', 'Bad watcher in rule (an AOR or a domain)');
  return { presentity, watcher, action: input.action };
}
