/**
 * Authorization decisions (seed 001 force_active, RFC 5025 §3.2.1 sub-handling), the winfo rule of
 * RFC 3857 §5.1, and the pure planning of rule changes in presence/rules.ts. No I/O.
 */
import { authorize, mayWatchWatchers, ruleForWatcher } from '../../src/presence/authorization';
import type { PresRule, RuleAction, Subscription } from '../../src/presence/model';
import { normalizeRule, planRuleChange } from '../../src/presence/rules';
import { isPresenceError } from '../../src/errors';

const P = 'sip:alice@example.com';
const r = (watcher: string, action: RuleAction): PresRule => ({ presentity: P, watcher, action, updatedAt: 0 });

function sub(watcher: string, state: Subscription['state'], id = watcher): Subscription {
  return {
    id, presentity: P, event: 'presence', eventId: null, watcher, watcherDisplayName: null, callId: `c-${id}`, remoteTag: 'r', localTag: 'l',
    remoteUri: watcher, localUri: P, remoteCseq: 1, localCseq: 1, remoteTarget: 'sip:x@127.0.0.1', routeSet: [], contactInstance: null,
    via: { transport: 'udp', host: '127.0.0.1', port: 5060, connectionId: null }, state, reason: null, expiresAt: 1, version: 0, node: 'n', createdAt: 0, updatedAt: 0,
  };
}

describe('authorize()', () => {
  it('seed 001 force_active=1: active whatever the rule, never polite', () => {
    for (const a of ['allow', 'block', 'polite-block', 'confirm'] as const) {
      expect(authorize(true, r('sip:bob@example.com', a))).toEqual({ state: 'active', polite: false });
    }
    expect(authorize(true, undefined)).toEqual({ state: 'active', polite: false });
  });

  it.each([
    ['allow', { state: 'active', polite: false }],
    ['block', { state: 'rejected', polite: false }],
    ['polite-block', { state: 'active', polite: true }],
    ['confirm', { state: 'pending', polite: false }],
  ] as const)('RFC 5025 §3.2.1 sub-handling %s → %j', (action, decision) => {
    expect(authorize(false, r('sip:bob@example.com', action))).toEqual(decision);
  });

  it('seed 001: with no rule the subscription stays pending', () => {
    expect(authorize(false, undefined)).toEqual({ state: 'pending', polite: false });
  });
});

describe('ruleForWatcher()', () => {
  const rules = [r('example.org', 'allow'), r('sip:eve@example.org', 'block'), r('sip:bob@example.com', 'polite-block')];
  it('the exact watcher AOR wins over its domain', () => {
    expect(ruleForWatcher(rules, 'sip:eve@example.org')?.action).toBe('block');
  });
  it('falls back to the domain rule', () => {
    expect(ruleForWatcher(rules, 'sip:frank@example.org')?.action).toBe('allow');
  });
  it('no rule for another domain; a domain rule does not match a sub-domain', () => {
    expect(ruleForWatcher(rules, 'sip:frank@other.net')).toBeUndefined();
    expect(ruleForWatcher(rules, 'sip:frank@sub.example.org')).toBeUndefined();
  });
  it('the order of the list does not matter', () => {
    expect(ruleForWatcher([...rules].reverse(), 'sip:eve@example.org')?.action).toBe('block');
  });
});

describe('mayWatchWatchers() (RFC 3857 §5.1)', () => {
  it('only the presentity itself', () => {
    expect(mayWatchWatchers(P, P)).toBe(true);
    expect(mayWatchWatchers('sip:bob@example.com', P)).toBe(false);
    expect(mayWatchWatchers('sip:alice@example.org', P)).toBe(false);
  });
});

describe('planRuleChange() (presence/rules.ts)', () => {
  const bob = 'sip:bob@example.com';
  it('pending + allow → activate; pending + polite-block → activate (closed document)', () => {
    expect(planRuleChange([sub(bob, 'pending')], [], [r(bob, 'allow')], false).map((c) => c.effect)).toEqual(['activate']);
    const polite = planRuleChange([sub(bob, 'pending')], [], [r(bob, 'polite-block')], false);
    expect(polite.map((c) => [c.effect, c.decision.polite])).toEqual([['activate', true]]);
  });
  it('any state + block → reject', () => {
    expect(planRuleChange([sub(bob, 'pending', '1'), sub(bob, 'active', '2')], [], [r(bob, 'block')], false).map((c) => c.effect)).toEqual(['reject', 'reject']);
  });
  it('active + confirm, or active with the allow rule removed → suspend', () => {
    expect(planRuleChange([sub(bob, 'active')], [r(bob, 'allow')], [r(bob, 'confirm')], false).map((c) => c.effect)).toEqual(['suspend']);
    expect(planRuleChange([sub(bob, 'active')], [r(bob, 'allow')], [], false).map((c) => c.effect)).toEqual(['suspend']);
  });
  it('active, allow ↔ polite-block → renotify; allow → allow → nothing', () => {
    expect(planRuleChange([sub(bob, 'active')], [r(bob, 'allow')], [r(bob, 'polite-block')], false).map((c) => c.effect)).toEqual(['renotify']);
    expect(planRuleChange([sub(bob, 'active')], [r(bob, 'polite-block')], [r(bob, 'allow')], false).map((c) => c.effect)).toEqual(['renotify']);
    expect(planRuleChange([sub(bob, 'active')], [r(bob, 'allow')], [r(bob, 'allow')], false)).toEqual([]);
  });
  it('pending + confirm → nothing (still waiting)', () => {
    expect(planRuleChange([sub(bob, 'pending')], [], [r(bob, 'confirm')], false)).toEqual([]);
  });
  it('a domain rule under an exact rule changes nothing for that watcher', () => {
    expect(planRuleChange([sub(bob, 'active')], [r(bob, 'allow')], [r(bob, 'allow'), r('example.com', 'block')], false)).toEqual([]);
  });
  it('force_active=1: nothing changes whatever the rules', () => {
    expect(planRuleChange([sub(bob, 'active')], [], [r(bob, 'block')], true)).toEqual([]);
  });
  it('terminated subscriptions are left alone', () => {
    expect(planRuleChange([sub(bob, 'terminated')], [], [r(bob, 'allow')], false)).toEqual([]);
  });
});

describe('normalizeRule()', () => {
  it('canonicalises the presentity and an AOR watcher, lower-cases a domain watcher', () => {
    expect(normalizeRule({ presentity: '<sip:alice@EXAMPLE.com:5060;transport=tcp>', watcher: 'sips:bob@Example.COM', action: 'allow' }))
      .toEqual({ presentity: 'sip:alice@example.com', watcher: 'sip:bob@example.com', action: 'allow' });
    expect(normalizeRule({ presentity: P, watcher: 'sip:Example.ORG', action: 'block' }).watcher).toBe('example.org');
    expect(normalizeRule({ presentity: P, watcher: 'bob@example.org', action: 'block' }).watcher).toBe('sip:bob@example.org');
  });
  it.each([
    [{ presentity: 'sip:example.com', watcher: 'example.org', action: 'allow' }],
    [{ presentity: 'mailto:a@b', watcher: 'example.org', action: 'allow' }],
    [{ presentity: P, watcher: 'exa mple.org', action: 'allow' }],
    [{ presentity: P, watcher: 'example.org', action: 'deny' }],
  ])('refuses %j with a 400 PresenceError', (input) => {
    let err: unknown;
    try {
      normalizeRule(input as never);
    } catch (e) {
      err = e;
    }
    expect(isPresenceError(err) && err.sipStatus === 400).toBe(true);
  });
});
