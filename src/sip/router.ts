/**
 * Routes requests to their handlers after the checks every request gets (RFC 3261 §8.2):
 * Max-Forwards 0 → 483, an unknown extension in Require → 420 with Unsupported, OPTIONS → 200
 * with what Herald can do, a method Herald does not serve → 405 with Allow, ACK absorbed.
 */
import type { SipRequest } from './message';
import type { HandlerResult, RequestContext, RequestHandler } from './endpoint';

export type MethodHandler = (req: SipRequest, ctx: RequestContext) => Promise<HandlerResult>;

export interface RouterOptions {
  handlers: Partial<Record<string, MethodHandler>>;
  /** Event packages served, for Allow-Events. */
  events: readonly string[];
  /** Body types accepted, for Accept. */
  accept: readonly string[];
}

/** Extensions Herald understands (none is required for presence). */
const SUPPORTED: readonly string[] = [];

export function createRouter(o: RouterOptions): RequestHandler {
  const allow = ['OPTIONS', ...Object.keys(o.handlers)].join(', ');
  return async (req, ctx) => {
    if (req.method === 'ACK') return null; // RFC 3261 §17.2.3: an ACK to a non-INVITE has nothing to match; absorbed
    const mf = req.headers.get('max-forwards');
    // RFC 3261 §16.3 / §8.2: a request with Max-Forwards 0 that is not for us to answer ends here.
    if (mf !== undefined && Number(mf) === 0 && req.method !== 'OPTIONS') return { status: 483, reason: 'Too Many Hops' };
    // RFC 3261 §8.2.2.3: "If a UAS does not understand an option-tag listed in a Require header field,
    // it MUST respond by generating a response with status code 420 (Bad Extension)" listing them in Unsupported.
    const unsupported = req.headers.getAll('require').map((r) => r.trim()).filter((r) => r && !SUPPORTED.includes(r.toLowerCase()));
    if (unsupported.length > 0 && req.method !== 'CANCEL') {
      return { status: 420, reason: 'Bad Extension', headers: [['Unsupported', unsupported.join(', ')]] };
    }
    if (req.method === 'OPTIONS') {
      // RFC 3261 §11.2: the response SHOULD carry Allow, Accept, Accept-Encoding, Accept-Language and Supported.
      return {
        status: 200,
        headers: [['Allow', allow], ['Allow-Events', o.events.join(', ')], ['Accept', o.accept.join(', ')], ['Accept-Encoding', 'identity'], ['Accept-Language', 'en'], ['Supported', SUPPORTED.join(', ')]],
      };
    }
    if (req.method === 'CANCEL') return { status: 481, reason: 'Call/Transaction Does Not Exist' };
    const handler = o.handlers[req.method];
    // RFC 3261 §8.2.1: "the UAS MUST generate a 405 (Method Not Allowed) response ... MUST also add an Allow header field".
    if (!handler) return { status: 405, headers: [['Allow', allow]] };
    return handler(req, ctx);
  };
}
