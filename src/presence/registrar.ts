/**
 * Registrar-lite (RFC 3261 §10.3): softphones pointed at Herald directly REGISTER before they
 * PUBLISH or SUBSCRIBE. Bindings are stored so they survive a restart and are listed in the 200.
 * Herald hands out no GRUU, so watchers' Contacts stay routable.
 */
import { PresenceError } from '../errors';
import { grantExpires, type ExpiresLimits } from './expires';
import type { Clock } from '../clock';
import type { Registration, Via } from './model';
import type { Store } from './ports';

export interface BindingRequest {
  /** The Contact URI, or '*' to remove every binding. */
  uri: string;
  /** Contact expires parameter (seconds), if given. */
  expires: number | undefined;
  instance: string | null;
}

export interface RegisterRequest {
  aor: string;
  callId: string;
  cseq: number;
  /** The Expires header (seconds), if given. */
  expires: number | undefined;
  contacts: BindingRequest[];
  via: Via;
}

export class Registrar {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly limits: ExpiresLimits,
  ) {}

  /** Applies the bindings and returns every live one (the 200 lists them with their expires). */
  async register(r: RegisterRequest): Promise<Registration[]> {
    const now = this.clock.now();
    const star = r.contacts.some((c) => c.uri === '*');
    // RFC 3261 §10.3 step 6: "*" is only allowed alone and with Expires: 0.
    if (star && (r.contacts.length !== 1 || r.expires !== 0)) throw new PresenceError('BAD_REQUEST', 'Wildcard Contact needs Expires 0');
    await this.store.transaction(async (tx) => {
      if (star) {
        await tx.registrations.removeAll(r.aor);
        return;
      }
      const existing = new Map((await tx.registrations.live(r.aor, now)).map((b) => [b.contact, b]));
      for (const c of r.contacts) {
        const granted = grantExpires(c.expires ?? r.expires, this.limits);
        const old = existing.get(c.uri);
        // RFC 3261 §10.3 step 7: same Call-ID and a CSeq not higher than the binding's → "the update MUST be aborted and the request fails".
        if (old && old.callId === r.callId && r.cseq <= old.cseq) throw new PresenceError('SERVER_ERROR', 'Out-of-order REGISTER');
        if (granted === 0) await tx.registrations.remove(r.aor, c.uri);
        else await tx.registrations.upsert({ aor: r.aor, contact: c.uri, instance: c.instance, callId: r.callId, cseq: r.cseq, via: r.via, expiresAt: now + granted * 1000 });
      }
    });
    return this.store.registrations.live(r.aor, now);
  }
}
