import {
  LdapConfigurationError,
  ldapAuthOptionsFromEnvironment,
  resolveLdapAuthOptions,
  type LdapAuthModuleOptions,
} from '@nest-ldap-auth/ldap-auth';
import { APP_CONFIGURATION_HEADING, AppConfigurationError, appConfigFromEnvironment } from './app.config.js';
import { devDirectoryLdifProblem, PRODUCTION_NEEDS_DIRECTORY_URL } from '../dev-directory/dev-directory.provider.js';

/** Heading of the library's problems: LdapConfigurationError's own. */
const LDAP_CONFIGURATION_HEADING = 'Invalid LDAP configuration';

/**
 * Everything wrong with the environment, found in one pass before anything starts: the demo app's variables
 * and the LDAP library's, each problem once, under its own heading.
 */
export class StartupConfigurationError extends Error {
  constructor(
    readonly appProblems: string[],
    readonly ldapProblems: string[],
  ) {
    const count = appProblems.length + ldapProblems.length;
    const section = (heading: string, variables: string, problems: string[]) =>
      problems.length ? [`${heading} (${variables}):`, ...problems.map((p) => `  - ${p}`)].join('\n') : undefined;
    super(
      [
        `the configuration is invalid (${count} ${count === 1 ? 'problem' : 'problems'}); nothing was started.`,
        section(APP_CONFIGURATION_HEADING, "the demo app's variables", appProblems),
        section(
          LDAP_CONFIGURATION_HEADING,
          "the @nest-ldap-auth/ldap-auth library's variables, see docs/configuration.md",
          ldapProblems,
        ),
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
    this.name = 'StartupConfigurationError';
  }
}

/**
 * Checks every variable the demo and the library read (as `npm start` and `npm run sync` would use them) and
 * throws one StartupConfigurationError listing all problems. Logs nothing.
 */
export async function assertValidConfiguration(env: Record<string, string | undefined>): Promise<void> {
  const app: string[] = [];
  const ldap: string[] = [];
  const collect = (into: string[], check: () => void) => {
    try {
      check();
    } catch (error) {
      if (error instanceof AppConfigurationError || error instanceof LdapConfigurationError)
        into.push(...error.problems);
      else throw error;
    }
  };

  collect(app, () => appConfigFromEnvironment(env, { warnings: false }));

  let options: LdapAuthModuleOptions | undefined;
  collect(ldap, () => (options = ldapAuthOptionsFromEnvironment(env)));
  const hasUrl = !!env.LDAP_AUTH_URL?.trim();
  if (options) {
    // What the options resolve to as the module will see them; without LDAP_AUTH_URL the demo supplies its
    // embedded directory's URL, so a placeholder stands in for it here.
    const server = { ...options.server, url: hasUrl ? options.server.url : ['ldap://127.0.0.1'] };
    collect(ldap, () => resolveLdapAuthOptions({ ...options, server }));
  }
  if (!hasUrl) {
    if (env.NODE_ENV === 'production') ldap.push(PRODUCTION_NEEDS_DIRECTORY_URL);
    else {
      const problem = await devDirectoryLdifProblem(env);
      if (problem) app.push(problem);
    }
  }

  const unique = (problems: string[]) => [...new Set(problems)];
  if (app.length || ldap.length) throw new StartupConfigurationError(unique(app), unique(ldap));
}

/** Whether `error` is a configuration problem whose message says everything (no stack trace needed). */
export function isConfigurationError(error: unknown): error is Error {
  return (
    error instanceof StartupConfigurationError ||
    error instanceof AppConfigurationError ||
    error instanceof LdapConfigurationError
  );
}
