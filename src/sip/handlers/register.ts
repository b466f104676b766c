/** REGISTER from the wire to the registrar-lite and back (RFC 3261 §10.3). */
import type { Clock } from '../../clock';
import type { Registrar } from '../../presence/registrar';
import { parseExpires } from '../../presence/expires';
import type { HandlerResult, RequestContext } from '../endpoint';
import { parseNameAddr } from '../headers';
import type { SipRequest } from '../message';
import { aorOf, cseqOf, expiresOf, nameAddr } from './dialog-parts';

export function registerHandler(registrar: Registrar, clock: Clock) {
  return async (req: SipRequest, ctx: RequestContext): Promise<HandlerResult> => {
    const contacts = req.headers.getAll('contact').map((v) => {
      if (v.trim() === '*') return { uri: '*', expires: undefined, instance: null };
      const na = parseNameAddr(v);
      const e = na.params.get('expires');
      return { uri: na.uri, expires: e == null ? undefined : parseExpires(e), instance: na.params.get('+sip.instance') ?? null };
    });
    const bindings = await registrar.register({
      aor: aorOf(nameAddr(req, 'to').uri, 'To'),
      callId: req.headers.get('call-id') ?? '',
      cseq: cseqOf(req),
      expires: expiresOf(req),
      contacts,
      via: { transport: ctx.peer.transport, host: ctx.peer.host, port: ctx.peer.port, connectionId: ctx.peer.connectionId },
    });
    const now = clock.now();
    // RFC 3261 §10.3 step 8: "The response SHOULD include a Contact header field value enumerating all current bindings", each with expires.
    const headers: Array<[string, string]> = bindings.map((b) => {
      const instance = b.instance ? `;+sip.instance="${b.instance}"` : '';
      return ['Contact', `<${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}${instance}`];
    });
    return { status: 200, headers };
  };
}
