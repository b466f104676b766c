/**
 * The subscription state machine of RFC 6665 §4.1.3 as data (DESIGN habit 2): the legal edges are
 * listed here once, and every other move throws.
 */
import { TRANSITIONS, transition, type StateOrInit } from '../../src/presence/subscription-state';
import type { SubscriptionState } from '../../src/presence/model';

const FROM: StateOrInit[] = ['init', 'pending', 'active', 'terminated'];
const TO: SubscriptionState[] = ['pending', 'active', 'terminated'];

const LEGAL: Array<[StateOrInit, SubscriptionState]> = [
  // A new subscription starts pending (authorization pending), active, or terminated at once (a fetch).
  ['init', 'pending'], ['init', 'active'], ['init', 'terminated'],
  // RFC 6665 §4.1.3: pending → active when authorized, → terminated when rejected or expired; a refresh stays.
  ['pending', 'pending'], ['pending', 'active'], ['pending', 'terminated'],
  // active → pending: authorization withdrawn back to confirm (RFC 5025); a refresh stays active.
  ['active', 'active'], ['active', 'pending'], ['active', 'terminated'],
];

describe('subscription state machine (RFC 6665 §4.1.3)', () => {
  it('the table lists exactly the legal edges', () => {
    const edges = FROM.flatMap((f) => TRANSITIONS[f].map((t) => [f, t] as [StateOrInit, SubscriptionState]));
    expect(edges.sort()).toEqual([...LEGAL].sort());
  });

  it.each(LEGAL)('%s → %s is legal and returns the new state', (from, to) => {
    expect(transition(from, to)).toBe(to);
  });

  const illegal = FROM.flatMap((f) => TO.map((t) => [f, t] as [StateOrInit, SubscriptionState])).filter(([f, t]) => !LEGAL.some(([a, b]) => a === f && b === t));

  it.each(illegal)('%s → %s throws (a terminated subscription never comes back)', (from, to) => {
    expect(() => transition(from, to)).toThrow(/illegal subscription state transition/);
  });

  it('terminated is final', () => {
    expect(TRANSITIONS.terminated).toEqual([]);
  });
});
