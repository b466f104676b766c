/** RFC 3903 §6 step 7: "the ESC MUST ... assign an entity-tag" — a new, unguessable one each time. */
import type { Random } from '../clock';

export function newEntityTag(random: Random): string {
  return random.token(15);
}
