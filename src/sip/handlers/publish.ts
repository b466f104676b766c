/**
 * PUBLISH (RFC 3903) from the wire to the domain and back: the Request-URI names the presentity;
 * the 200 carries SIP-ETag and Expires = granted − expires_offset (seed 001).
 */
import type { PublicationService } from '../../presence/publications';
import type { HandlerResult } from '../endpoint';
import type { SipRequest } from '../message';
import { aorOf, contentTypeOf, eventOf, expiresOf } from './dialog-parts';

export function publishHandler(service: PublicationService, expiresOffsetSec: number) {
  return async (req: SipRequest): Promise<HandlerResult> => {
    // Every SIP-If-Match value, joined: more than one entity-tag is refused by the service (RFC 3903 §6 step 3).
    const ifMatchValues = req.headers.getAll('sip-if-match');
    const ifMatch = ifMatchValues.length === 0 ? null : ifMatchValues.map((v) => v.trim()).join(', ');
    const result = await service.publish({
      presentity: aorOf(req.uri, 'Request'),
      event: eventOf(req)?.event,
      ifMatch,
      expires: expiresOf(req),
      body: req.body.length > 0 ? req.body : null,
      contentType: contentTypeOf(req),
      source: 'sip',
      client: null,
    });
    const headers: Array<[string, string]> = [];
    // RFC 3903 §6 step 8: "the 2xx response MUST contain a SIP-ETag header field" and Expires.
    if (result.etag) headers.push(['SIP-ETag', result.etag]);
    // seed 001 expires_offset: make the client refresh before the stored record expires.
    headers.push(['Expires', String(result.expires === 0 ? 0 : Math.max(1, result.expires - expiresOffsetSec))]);
    return { status: 200, headers, after: result.notify };
  };
}
