/** RFC 3903 §6 step 7: "the ESC MUST ... assign an entity-tag" — a new, unguessable one each time. */
import type { Random } from '../clock';

export function newEntityTag(random: Random): string {
  return random.token(15);
}

/** RFC 3903 §11.3.2: entity-tag = token (RFC 3261 §25.1). */
const ENTITY_TAG = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

export function isEntityTag(s: string): boolean {
  return ENTITY_TAG.test(s);
}
