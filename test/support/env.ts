import type { SambaInfo, SlapdInfo } from './servers.js';
import { testServers } from './servers.js';

export type DirectoryKind = 'openldap' | 'ad';
export const DIRECTORY_KINDS: DirectoryKind[] = ['openldap', 'ad'];

/** Environment for the demo app against the harness's slapd (the original product's defaults otherwise). */
export function openLdapEnv(slapd: SlapdInfo): Record<string, string> {
  return {
    LDAP_AUTH_URL: slapd.url,
    LDAP_AUTH_SEARCH_BASE: slapd.peopleDn,
  };
}

/** Environment for the demo app against the harness's Samba AD, over LDAPS with Samba's CA, as `EXAMPLE\name`. */
export function activeDirectoryEnv(samba: SambaInfo): Record<string, string> {
  return {
    LDAP_AUTH_URL: samba.url,
    LDAP_AUTH_TLS_CA_FILE: samba.caFile,
    LDAP_AUTH_TLS_SERVERNAME: samba.servername,
    LDAP_AUTH_SEARCH_BASE: samba.usersDn,
    LDAP_AUTH_OBJECT_CLASS: 'user',
    LDAP_AUTH_USER_FIELDS: 'username=sAMAccountName,first_name=givenName,last_name=sn,email=mail',
    LDAP_AUTH_FORMAT_USERNAME: 'django_python3_ldap.utils.format_username_active_directory',
    LDAP_AUTH_ACTIVE_DIRECTORY_DOMAIN: samba.domain,
  };
}

export function directoryEnv(kind: DirectoryKind): Record<string, string> {
  const servers = testServers();
  return kind === 'openldap' ? openLdapEnv(servers.slapd) : activeDirectoryEnv(servers.samba);
}

export function directoryInfo(kind: DirectoryKind): SlapdInfo | SambaInfo {
  const servers = testServers();
  return kind === 'openldap' ? servers.slapd : servers.samba;
}

/** DN of a fixture group on either server. */
export function groupDnOf(kind: DirectoryKind, cn: string): string {
  const info = directoryInfo(kind);
  return `cn=${cn},${info.groupsDn}`;
}

/** The service account (search login mode, the full sync) on either server. */
export function serviceAccountEnv(kind: DirectoryKind): Record<string, string> {
  const info = directoryInfo(kind);
  return {
    LDAP_SYNC_USER_USERNAME: info.kind === 'slapd' ? info.serviceDn : info.serviceUser,
    LDAP_SYNC_USER_PASSWORD: info.servicePassword,
  };
}
