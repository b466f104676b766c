/**
 * Event packages Herald serves (RFC 6665 §7.2 Event header; RFC 3856 presence; RFC 3857 winfo).
 */
export interface EventPackage {
  name: string;
  /** RFC 3903: may a PUBLISH carry this event? */
  publishable: boolean;
  /** Body types of NOTIFY (and PUBLISH) for this package. */
  contentTypes: readonly string[];
  /** RFC 3857: a template package watches the subscriptions of another (presence.winfo → presence). */
  watchedPackage: string | null;
}

export const PRESENCE: EventPackage = {
  name: 'presence',
  publishable: true,
  // RFC 3856 §6.6: "all subscribers and notifiers MUST support application/pidf+xml".
  contentTypes: ['application/pidf+xml'],
  watchedPackage: null,
};

export const PRESENCE_WINFO: EventPackage = {
  name: 'presence.winfo',
  publishable: false,
  // RFC 3857 §4: application/watcherinfo+xml.
  contentTypes: ['application/watcherinfo+xml'],
  watchedPackage: 'presence',
};

const PACKAGES: ReadonlyMap<string, EventPackage> = new Map([PRESENCE, PRESENCE_WINFO].map((p) => [p.name, p]));

export function eventPackage(name: string): EventPackage | undefined {
  return PACKAGES.get(name.toLowerCase());
}

export function allEvents(): string[] {
  return [...PACKAGES.keys()];
}

export function publishableEvents(): string[] {
  return [...PACKAGES.values()].filter((p) => p.publishable).map((p) => p.name);
}

export function acceptedTypes(): string[] {
  return [...new Set([...PACKAGES.values()].flatMap((p) => p.contentTypes))];
}
