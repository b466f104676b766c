/**
 * The subscription state machine of RFC 6665 §4.1.3 as data: the legal transitions and one guarded
 * transition(). "init" is a subscription not yet stored.
 */
import type { SubscriptionState } from './model';

export type StateOrInit = SubscriptionState | 'init';

export const TRANSITIONS: Readonly<Record<StateOrInit, readonly SubscriptionState[]>> = {
  init: ['pending', 'active', 'terminated'],
  // RFC 6665 §4.1.3: pending → active when authorized, → terminated when rejected or expired.
  pending: ['pending', 'active', 'terminated'],
  // An active subscription may go back to pending when authorization is withdrawn to confirm (RFC 5025).
  active: ['active', 'pending', 'terminated'],
  terminated: [],
};

export function transition(from: StateOrInit, to: SubscriptionState): SubscriptionState {
  if (!TRANSITIONS[from].includes(to)) throw new Error(`illegal subscription state transition ${from} → ${to}`);
  return to;
}
