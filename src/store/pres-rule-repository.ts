/** Presence authorization rules (RFC 5025 §3.2.1 sub-handling), in table `pres_rules`. */
import type { Knex } from 'knex';
import type { PresRule } from '../presence/model';
import type { PresRuleRepository } from '../presence/ports';
import { splitAor } from '../presence/aor';
import { RULE, T, ruleFromRow, ruleToRow, type Row } from './rows';

export class KnexPresRuleRepository implements PresRuleRepository {
  constructor(private readonly db: Knex) {}

  private table(): Knex.QueryBuilder {
    return this.db(T.rules);
  }

  /**
   * ports.ts: "the rule for this watcher AOR, else for its domain". The exact AOR wins over the
   * domain (the more specific identity). Note this is Herald's rule, not RFC 4745 §10, which would
   * combine all matching rules. One query: both candidates, exact match ordered first.
   */
  async ruleFor(presentity: string, watcher: string): Promise<PresRule | undefined> {
    const domain = splitAor(watcher).domain;
    const rows: Row[] = await this.table()
      .where(RULE.presentity, presentity)
      .whereIn(RULE.watcher, [watcher, domain])
      .orderByRaw('(?? = ?) DESC', [RULE.watcher, watcher])
      .limit(1);
    const first = rows[0];
    return first && ruleFromRow(first);
  }

  async put(rule: PresRule): Promise<void> {
    await this.table()
      .insert(ruleToRow(rule))
      .onConflict([RULE.presentity, RULE.watcher])
      .merge([RULE.action, RULE.updatedAt]);
  }

  async remove(presentity: string, watcher: string): Promise<boolean> {
    const rows: Row[] = await this.table()
      .where({ [RULE.presentity]: presentity, [RULE.watcher]: watcher })
      .del()
      .returning([RULE.watcher]);
    return rows.length > 0;
  }

  async list(presentity: string): Promise<PresRule[]> {
    const rows: Row[] = await this.table().where(RULE.presentity, presentity).orderBy(RULE.watcher);
    return rows.map(ruleFromRow);
  }
}
