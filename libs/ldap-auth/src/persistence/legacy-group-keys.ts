import { Injectable, Logger } from '@nestjs/common';
import { GroupEntity } from '../entities/group.entity.js';
import { normalizeDn } from '../model/dn.js';
import { legacyGroupKey } from '../model/legacy-dn-key.js';
import { TransactionRunner } from './transaction-runner.js';

/**
 * Gives mirrored groups stored under the key of earlier builds (see legacyGroupKey) the key of today, at start-up: the
 * key comes from the configured DN, which only the app knows, so a SQL migration cannot do it. A row keeps its
 * id, name and members. Where several listed groups had one old key (look-alikes the old folding merged), the
 * row goes to the group whose key is the stored one unchanged, or to none when that is not decided; the others
 * get rows of their own at their first login or sync. Every decision is logged.
 */
@Injectable()
export class LegacyGroupKeys {
  private readonly logger = new Logger(LegacyGroupKeys.name);

  constructor(private readonly transactions: TransactionRunner) {}

  /** @returns the number of rows re-keyed */
  async migrate(organisationId: number, configuredDns: readonly string[]): Promise<number> {
    const claims = new Map<string, Set<string>>();
    for (const dn of configuredDns) {
      const key = normalizeDn(dn);
      const legacy = legacyGroupKey(dn);
      const keys = claims.get(legacy) ?? new Set<string>();
      keys.add(key);
      claims.set(legacy, keys);
    }
    // ASCII-only lists (almost all) have the same key in both versions: no query at all.
    const changed = [...claims].filter(([legacy, keys]) => !(keys.size === 1 && keys.has(legacy)));
    if (!changed.length) return 0;
    return this.transactions.transaction(async (manager) => {
      const groups = manager.getRepository(GroupEntity);
      let moved = 0;
      for (const [legacy, keys] of changed) {
        const row = await groups.findOneBy({ organisationId, ldapDn: legacy });
        if (!row || keys.has(legacy)) continue; // absent, or kept by the group whose key it still is
        if (keys.size > 1) {
          this.logger.warn(
            `Group row ${row.id} (${legacy}) was shared by ${keys.size} listed groups under the old DN folding (${[...keys].join('; ')}); it is left as it is, and each listed group gets a row of its own`,
          );
          continue;
        }
        const [key] = keys;
        if (await groups.existsBy({ organisationId, ldapDn: key })) {
          this.logger.warn(`Group row ${row.id} (${legacy}) not re-keyed: a row for ${key} exists already`);
          continue;
        }
        await groups.update({ id: row.id }, { ldapDn: key });
        this.logger.log(`Group row ${row.id} re-keyed from ${legacy} to ${key} (DNs are compared exactly now)`);
        moved++;
      }
      return moved;
    });
  }
}
