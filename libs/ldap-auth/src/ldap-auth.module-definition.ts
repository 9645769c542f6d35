import { ConfigurableModuleBuilder, type Type } from '@nestjs/common';
import type { LdapAuthModuleOptions } from './interfaces/ldap-auth-options.interface.js';
import type { UsernameFormatter } from './formatting/username-formatter.js';
import type { GroupSync } from './group-mirroring/group-sync.js';
import { usernameFormatterProvider } from './formatting/username-formatter.provider.js';
import { groupSyncProvider } from './group-mirroring/group-sync.provider.js';

/** Module-level choices that are classes rather than values, so they stay out of the options object. */
export interface LdapAuthModuleExtras {
  /** Register the module globally. @default false */
  isGlobal?: boolean;
  /** Your own username formatter, replacing the built-in chosen by `usernameFormat`. */
  usernameFormatterClass?: Type<UsernameFormatter>;
  /** Your own group sync, replacing the built-in chosen by `groupSync`. */
  groupSyncClass?: Type<GroupSync>;
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: LDAP_AUTH_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<LdapAuthModuleOptions>({ moduleName: 'LdapAuth' })
  .setClassMethodName('forRoot')
  .setExtras<LdapAuthModuleExtras>(
    { isGlobal: false, usernameFormatterClass: undefined, groupSyncClass: undefined },
    (definition, extras) => ({
      ...definition,
      global: extras.isGlobal,
      providers: [
        ...(definition.providers ?? []),
        usernameFormatterProvider(extras.usernameFormatterClass),
        groupSyncProvider(extras.groupSyncClass),
      ],
    }),
  )
  .build();
