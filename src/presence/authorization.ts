/**
 * Who may see a presentity (seed 001 force_active; RFC 5025 §3.2.1 sub-handling).
 */
import type { PresRule, SubscriptionState } from './model';

export interface Decision {
  /** 'rejected' (block) is answered 403 to a new SUBSCRIBE, terminated;reason=rejected otherwise. */
  state: SubscriptionState | 'rejected';
  /** RFC 5025 §3.2.1 polite-block: "the watcher is ... given a document ... [that] hides the presentity's status". */
  polite: boolean;
}

export function authorize(forceActive: boolean, rule: PresRule | undefined): Decision {
  // seed 001: "If set to 1, subscription state is considered active and the presentity is not queried for permissions".
  if (forceActive) return { state: 'active', polite: false };
  switch (rule?.action) {
    case 'allow': return { state: 'active', polite: false };
    case 'block': return { state: 'rejected', polite: false };
    case 'polite-block': return { state: 'active', polite: true };
    // seed 001: "If no record exists, the subscriptions remains in pending state" (confirm: the same).
    default: return { state: 'pending', polite: false };
  }
}

/** A watcher may subscribe to a presentity's watcher-info only if it is the presentity (RFC 3857 §5.1). */
export function mayWatchWatchers(watcher: string, presentity: string): boolean {
  return watcher === presentity;
}

/** The rule for a watcher AOR, else for its domain (the same order as the store's ruleFor). */
export function ruleForWatcher(rules: readonly PresRule[], watcher: string): PresRule | undefined {
  const domain = watcher.slice(watcher.lastIndexOf('@') + 1);
  return rules.find((r) => r.watcher === watcher) ?? rules.find((r) => r.watcher === domain);
}
