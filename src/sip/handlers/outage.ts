/**
 * A PUBLISH or SUBSCRIBE that fails because the database is unreachable is answered 503 + Retry-After
 * (sip/reply.ts), yet its change may be committed: the outage can cut the answer to the COMMIT.
 * Its presentity is handed to the recovery loop (presence/recovery.ts), which re-reads the state
 * and tells the watchers once the database is back; an extra NOTIFY of unchanged state is harmless.
 */
import { isDatabaseUnavailable } from '../../errors';
import type { SipRequest } from '../message';
import type { MethodHandler } from '../router';
import { parseNameAddr } from '../headers';
import { aorOf } from './dialog-parts';

export function markDirtyOnOutage(handler: MethodHandler, markDirty: (presentity: string) => void): MethodHandler {
  return async (req, ctx) => {
    try {
      return await handler(req, ctx);
    } catch (err) {
      if (isDatabaseUnavailable(err)) {
        const presentity = presentityOf(req);
        if (presentity) markDirty(presentity);
      }
      throw err;
    }
  };
}

/** The Request-URI names the presentity, except in-dialog (To tag present), where the To URI does. */
function presentityOf(req: SipRequest): string | null {
  try {
    const to = parseNameAddr(req.headers.get('to') ?? '');
    return aorOf(to.params.has('tag') ? to.uri : req.uri, 'Request');
  } catch {
    return null;
  }
}
