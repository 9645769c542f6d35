import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { LDAP_AUTH_RESOLVED_OPTIONS } from '../ldap-auth.constants.js';
import type { ResolvedLdapAuthOptions } from '../config/resolve-options.js';
import { UsernameFormatter } from '../formatting/username-formatter.js';
import { GroupSync } from '../group-mirroring/group-sync.js';
import { LdapDirectory, type DirectorySession } from '../directory/ldap-directory.js';
import type { DirectoryGroup } from '../model/directory-user.js';
import { normalizeDn } from '../model/dn.js';
import { LdapLoginStore } from '../persistence/login/ldap-login.store.js';
import { LegacyGroupKeys } from '../persistence/legacy-group-keys.js';
import { LdapAuthEventPublisher } from '../events/ldap-auth-event.publisher.js';
import { LDAP_AUTH_EVENTS } from '../events/ldap-auth.events.js';
import {
  DatabaseUnavailableError,
  DirectoryError,
  DirectoryUnavailableError,
  InvalidCredentialsError,
  LdapAuthError,
  LdapConfigurationError,
  MalformedLoginRequestError,
} from '../errors/ldap-auth.errors.js';
import { oneLine } from '../logging/one-line.js';
import { OutageLog } from '../logging/outage-log.js';
import { ldapAuthMetrics, type LoginOutcome } from '../metrics/ldap-auth-metrics.js';
import type { AppUser } from '../interfaces/app-user.interface.js';
import { checkLoginInput, MAX_USERNAME_LENGTH } from './login-input.js';
import { bindAndFindUser, loginGroupDns, loginNames } from './user-lookup.js';

/** A failed login as the metrics count it: refused (with its code), or undecided (with what failed). */
function loginOutcomeOf(error: unknown): [LoginOutcome, string] {
  if (error instanceof InvalidCredentialsError) return ['failure', error.code];
  if (error instanceof DirectoryUnavailableError) return ['error', 'directory_unavailable'];
  if (error instanceof DatabaseUnavailableError) return ['error', 'database_unavailable'];
  if (error instanceof DirectoryError) return ['error', 'directory_error'];
  if (error instanceof LdapConfigurationError) return ['error', 'configuration'];
  return ['error', 'internal'];
}

/** How often groups that were not found are looked for again. */
const GROUP_LOOKUP_INTERVAL_MS = 5 * 60_000;

/**
 * A login from start to end: check the input, authenticate against the directory, read the user's groups,
 * apply the login group and the group sync, persist. Independent of HTTP and Passport.
 */
@Injectable()
export class LdapLoginService implements OnApplicationBootstrap {
  private readonly logger = new Logger(LdapLoginService.name);
  private readonly loginGroup?: string;
  /** Managed groups found in the directory, with their names; looked up on first use. */
  private readonly knownGroups = new Map<string, DirectoryGroup>();
  private lastGroupLookup = 0;
  /** A directory outage fails every login: logged when it begins and ends, counted in between. */
  private readonly outage = new OutageLog(this.logger, 'logins failed: directory unavailable');

  constructor(
    @Inject(LDAP_AUTH_RESOLVED_OPTIONS) private readonly options: ResolvedLdapAuthOptions,
    private readonly formatter: UsernameFormatter,
    private readonly directory: LdapDirectory,
    private readonly groupSync: GroupSync,
    private readonly store: LdapLoginStore,
    private readonly events: LdapAuthEventPublisher,
    private readonly legacyGroupKeys: LegacyGroupKeys,
  ) {
    this.loginGroup = options.loginGroup ? normalizeDn(options.loginGroup) : undefined;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.options.defaultOrganisationId !== undefined) {
      await this.store.ensureOrganisation(this.options.defaultOrganisationId);
      await this.legacyGroupKeys.migrate(this.options.defaultOrganisationId, this.options.syncedGroups);
    }
  }

  /**
   * The app user with this id as a login returns it (groups included), or null when there is none or it is
   * deactivated: what a session or token check needs on every request.
   */
  findActiveUser(id: number): Promise<AppUser | null> {
    return this.store.findActiveUser(id);
  }

  /**
   * @throws MalformedLoginRequestError when username or password is not a string
   * @throws InvalidCredentialsError for every login that must fail (the reason is logged here)
   * @throws DirectoryUnavailableError when no directory server answers
   * @throws DatabaseUnavailableError when the database connection was lost (twice)
   */
  async login(username: unknown, password: unknown): Promise<AppUser> {
    if (typeof username !== 'string' || typeof password !== 'string') {
      ldapAuthMetrics.login('failure', 'malformed_request');
      throw new MalformedLoginRequestError('username and password must be strings');
    }
    try {
      const user = await this.authenticate(username, password);
      ldapAuthMetrics.login('success');
      return user;
    } catch (error) {
      ldapAuthMetrics.login(...loginOutcomeOf(error));
      if (error instanceof InvalidCredentialsError) {
        this.logger.warn(
          `Login refused for ${JSON.stringify(username.slice(0, MAX_USERNAME_LENGTH))}: ${error.reason}`,
        );
        this.events.emit(LDAP_AUTH_EVENTS.loginFailed, {
          username: username.trim().slice(0, MAX_USERNAME_LENGTH),
          code: error.code,
          reason: error.reason,
          at: new Date(),
        });
      } else if (error instanceof DatabaseUnavailableError) {
        this.logger.error(oneLine(`${this.failedLine(username)}: ${error.message}: answered 503`));
      } else if (error instanceof DirectoryUnavailableError) {
        this.outage.failed(error.message, `${this.failedLine(username)}: ${error.message}`);
      } else if (error instanceof LdapAuthError) {
        this.logger.error(oneLine(`${this.failedLine(username)}: ${error.message}`));
      }
      throw error;
    }
  }

  private failedLine(username: string): string {
    return `Login failed for ${JSON.stringify(username.slice(0, MAX_USERNAME_LENGTH))}`;
  }

  private async authenticate(typed: string, password: string): Promise<AppUser> {
    const input = checkLoginInput(typed, password);
    if ('refused' in input) throw new InvalidCredentialsError(input.refused.reason, input.refused.code);
    const names = loginNames(this.formatter, this.options.loginMode, input.name);
    const groupDns = loginGroupDns(this.groupSync, this.options.loginGroup);

    const { user, memberOf } = await bindAndFindUser(
      this.directory,
      names,
      password,
      async (session, found) => {
        await this.lookUpGroups(session, groupDns);
        return { user: found, memberOf: await session.membership(found, groupDns, this.knownGroups) };
      },
      // An unknown name must cost what a wrong password costs (a search and a bind), or timing tells who exists.
      { onUnknownName: () => this.directory.decoyBind(password) },
    );

    if (this.loginGroup && !memberOf.has(this.loginGroup)) {
      throw new InvalidCredentialsError(
        `${user.dn} is not a member of the login group ${this.options.loginGroup}`,
        'not_in_login_group',
      );
    }
    const plan = this.groupSync.plan(user, memberOf, this.knownGroups);
    const appUser = await this.store.recordLogin(user, plan, this.options.defaultOrganisationId);
    this.outage.succeeded('The directory is reachable again: logins succeed');
    // One line per login is for debugging (LOG_LEVEL=debug in the demo); the loginSucceeded event is the audit.
    this.logger.debug(`Login: ${JSON.stringify(user.username)} (${user.dn})`);
    this.events.emit(LDAP_AUTH_EVENTS.loginSucceeded, {
      userId: appUser.id,
      username: appUser.username,
      dn: user.dn,
      at: new Date(),
    });
    return appUser;
  }

  /**
   * Learns the names of the managed groups, and warns about listed groups that do not exist (a configuration
   * slip, not a reason to refuse logins). Groups not found are looked for again at most every few minutes.
   */
  private async lookUpGroups(session: DirectorySession, groupDns: readonly string[]): Promise<void> {
    const unknown = groupDns.filter((dn) => !this.knownGroups.has(dn));
    if (unknown.length === 0 || Date.now() - this.lastGroupLookup < GROUP_LOOKUP_INTERVAL_MS) return;
    this.lastGroupLookup = Date.now();
    const found = await session.readGroups(unknown);
    for (const [dn, group] of found) this.knownGroups.set(dn, group);
    for (const dn of unknown.filter((d) => !found.has(d))) {
      this.logger.warn(
        `Group ${dn} (LDAP_SYNCED_GROUPS / LDAP_LOGIN_GROUP) does not exist in the directory; it is ignored`,
      );
    }
  }
}
