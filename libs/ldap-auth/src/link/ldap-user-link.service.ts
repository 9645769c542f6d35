import { Injectable, Logger } from '@nestjs/common';
import { LdapDirectory } from '../directory/ldap-directory.js';
import { LdapLinkStore, LinkRaceError } from '../persistence/link/ldap-link.store.js';
import { LdapSyncLock } from '../persistence/sync/ldap-sync-lock.js';
import { type LinkBy, planUserLinks, type ProposedLink } from '../model/user-link-plan.js';
import type { UserLinkReport } from '../model/user-link-report.js';
import { DirectoryError, DirectoryUnavailableError, IncompleteDirectoryReadError } from '../errors/ldap-auth.errors.js';
import { LdapAuthEventPublisher } from '../events/ldap-auth-event.publisher.js';
import { LDAP_AUTH_EVENTS } from '../events/ldap-auth.events.js';
import { fitSnapshotToColumns } from '../sync/fit-snapshot.js';

export interface UserLinkOptions {
  by: LinkBy;
  /** Plan and report, write nothing. */
  dryRun?: boolean;
}

/**
 * Links app users that predate LDAP (no `ldap_uuid`: a login never takes them over) to their directory
 * entries, by username or email: the directory read whole with the service account (the full sync's reader),
 * a pure plan (model/user-link-plan.ts), then one transaction per link. A real run holds the sync lock, so a
 * full sync never plans against half-linked rows.
 */
@Injectable()
export class LdapUserLinkService {
  private readonly logger = new Logger(LdapUserLinkService.name);

  constructor(
    private readonly directory: LdapDirectory,
    private readonly store: LdapLinkStore,
    private readonly syncLock: LdapSyncLock,
    private readonly events: LdapAuthEventPublisher,
  ) {}

  /** Never throws for a directory problem or a conflict: the report says how it ended. */
  async run(options: UserLinkOptions): Promise<UserLinkReport> {
    const started = Date.now();
    const dryRun = !!options.dryRun;
    const report: UserLinkReport = {
      status: 'succeeded',
      dryRun,
      by: options.by,
      entriesRead: 0,
      localUsers: 0,
      links: [],
      conflicts: [],
      linked: 0,
      notes: [],
      durationMs: 0,
    };
    const lock = dryRun ? undefined : await this.syncLock.tryLock();
    if (!dryRun && !lock) {
      report.status = 'skipped';
      report.reason = 'a full sync holds the sync lock (here or in another process); run again when it is over';
    } else {
      try {
        await this.plan(report, options.by);
        if (!dryRun) await this.write(report, options.by);
      } catch (caught) {
        const aborted =
          caught instanceof IncompleteDirectoryReadError ||
          caught instanceof DirectoryUnavailableError ||
          caught instanceof DirectoryError;
        report.status = aborted ? 'aborted' : 'failed';
        report.reason = caught instanceof Error ? caught.message : String(caught);
        if (!aborted && caught instanceof Error) this.logger.error(caught.stack ?? caught.message);
      } finally {
        await lock?.release().catch((e: unknown) => this.logger.error(`Could not release the sync lock: ${String(e)}`));
      }
    }
    report.durationMs = Date.now() - started;
    this.logReport(report);
    return report;
  }

  private async plan(report: UserLinkReport, by: LinkBy): Promise<void> {
    const usersRead = this.store.readUsers();
    usersRead.catch(() => undefined);
    const read = await this.directory.readSnapshot();
    // The values the rows will hold, fitted by the rules logins and the sync use.
    const { snapshot, notes } = fitSnapshotToColumns(read);
    const users = await usersRead;
    const plan = planUserLinks(snapshot.users.values(), users, by);
    report.entriesRead = snapshot.users.size;
    report.localUsers = users.filter((u) => u.ldapUuid === null).length;
    report.notes.push(...notes);
    report.links = plan.links;
    report.conflicts = plan.conflicts;
  }

  /** One transaction per link: one that fails (a row changed meanwhile) leaves the others written. */
  private async write(report: UserLinkReport, by: LinkBy): Promise<void> {
    const made: ProposedLink[] = [];
    for (const link of report.links) {
      try {
        await this.store.link(link);
      } catch (error) {
        if (!(error instanceof LinkRaceError) && !isConstraintError(error)) throw error;
        report.conflicts.push({
          kind: 'not-written',
          userId: link.userId,
          username: link.username,
          email: link.email,
          reason: error instanceof Error ? error.message : String(error),
          entries: [{ uuid: link.ldapUuid, dn: link.dn, username: link.entryUsername }],
        });
        continue;
      }
      made.push(link);
      this.logger.log(`Linked user ${link.userId} (${JSON.stringify(link.username)}) to ${link.dn} by ${by}`);
      this.events.emit(LDAP_AUTH_EVENTS.userLinked, {
        userId: link.userId,
        username: link.username,
        ldapUuid: link.ldapUuid,
        dn: link.dn,
        by,
      });
    }
    report.links = made;
    report.linked = made.length;
    report.conflicts.sort((a, b) => a.userId - b.userId);
  }

  private logReport(r: UserLinkReport): void {
    const line =
      `LDAP user link ${r.status}${r.dryRun ? ' (dry run)' : ''} by ${r.by}: ${r.entriesRead} entries, ` +
      `${r.localUsers} unlinked users, ${r.dryRun ? `${r.links.length} links proposed` : `${r.linked} linked`}, ` +
      `${r.conflicts.length} conflicts${r.reason ? `. ${r.reason}` : ''}`;
    if (r.status === 'succeeded') this.logger.log(line);
    else if (r.status === 'skipped') this.logger.warn(line);
    else this.logger.error(line);
  }
}

/** A unique index refused the write (the row's username key is another row's: two rows of one name). */
function isConstraintError(error: unknown): boolean {
  return error instanceof Error && /unique|duplicate|constraint/i.test(error.message);
}
