/**
 * SUBSCRIBE (RFC 6665, RFC 3856, RFC 3857) from the wire to the domain and back. A new SUBSCRIBE
 * is addressed to the presentity (Request-URI); an in-dialog one to Herald's Contact, so its
 * presentity is the To URI. The 2xx carries the To-tag, Expires and Contact = server_address.
 */
import { PresenceError } from '../../errors';
import type { SubscriptionService } from '../../presence/subscriptions';
import type { HandlerResult, RequestContext } from '../endpoint';
import { parseNameAddr } from '../headers';
import type { SipRequest } from '../message';
import type { TransportKind } from '../transport';
import { aorOf, cseqOf, eventOf, expiresOf, nameAddr, tagOf } from './dialog-parts';

export function subscribeHandler(service: SubscriptionService, contactFor: (transport: TransportKind) => string) {
  return async (req: SipRequest, ctx: RequestContext): Promise<HandlerResult> => {
    const from = nameAddr(req, 'from');
    const to = nameAddr(req, 'to');
    const remoteTag = tagOf(from);
    // RFC 3261 §8.1.1.3: "the From field MUST contain a new tag parameter".
    if (!remoteTag) throw new PresenceError('BAD_REQUEST', 'Missing From tag');
    const localTag = tagOf(to);
    const contactValue = req.headers.getAll('contact')[0];
    const contactNa = contactValue ? parseNameAddr(contactValue) : undefined;
    const ev = eventOf(req);
    const result = await service.subscribe({
      presentity: aorOf(localTag ? to.uri : req.uri, localTag ? 'To' : 'Request'),
      event: ev?.event,
      eventId: ev?.id ?? null,
      watcher: aorOf(from.uri, 'From'),
      watcherDisplayName: from.displayName,
      callId: req.headers.get('call-id') ?? '',
      remoteTag,
      localTag,
      remoteUri: from.uri,
      localUri: to.uri,
      cseq: cseqOf(req),
      remoteTarget: contactNa?.uri ?? null,
      contactInstance: contactNa?.params.get('+sip.instance') ?? null,
      // RFC 3261 §12.1.1: "The route set MUST be set to the list of URIs in the Record-Route header field ... in order".
      routeSet: req.headers.getAll('record-route').map((r) => r.trim()),
      via: { transport: ctx.peer.transport, host: ctx.peer.host, port: ctx.peer.port, connectionId: ctx.peer.connectionId },
      expires: expiresOf(req),
      accept: req.headers.has('accept') ? req.headers.getAll('accept') : null,
    });
    return {
      status: result.status,
      toTag: result.localTag,
      // RFC 6665 §4.2.1.1: "the 200-class response ... MUST contain an Expires header field".
      headers: [['Expires', String(result.expires)], ['Contact', `<${contactFor(ctx.peer.transport)}>`]],
      after: result.after,
    };
  };
}
