import { Client, ResultCodeError } from 'ldapts';
import { type LdapOperation, ldapAuthMetrics } from '../metrics/ldap-auth-metrics.js';

/**
 * Records the time and outcome of one LDAP request (ldap_auth_ldap_operation_duration_seconds): an error
 * result code is `refused` (the server answered), anything else thrown is `error` (timeout, socket, TLS).
 */
export async function measured<T>(operation: LdapOperation, request: () => Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    const result = await request();
    ldapAuthMetrics.ldapOperation(operation, 'success', (performance.now() - started) / 1000);
    return result;
  } catch (error) {
    const outcome = error instanceof ResultCodeError ? 'refused' : 'error';
    ldapAuthMetrics.ldapOperation(operation, outcome, (performance.now() - started) / 1000);
    throw error;
  }
}

/**
 * The ldapts client every pooled, probe and check connection uses (ldap-socket.ts creates it): the one choke
 * point where each request the library sends on them is measured, whoever sends it. The sync's bulk reader
 * speaks LDAP itself and measures its own requests (sync-reader/bulk-read-connection.ts).
 */
export class MeasuredClient extends Client {
  override bind(...args: Parameters<Client['bind']>): ReturnType<Client['bind']> {
    return measured('bind', () => super.bind(...args));
  }

  override search(...args: Parameters<Client['search']>): ReturnType<Client['search']> {
    return measured('search', () => super.search(...args));
  }

  override compare(...args: Parameters<Client['compare']>): ReturnType<Client['compare']> {
    return measured('compare', () => super.compare(...args));
  }

  override exop(...args: Parameters<Client['exop']>): ReturnType<Client['exop']> {
    return measured('extended', () => super.exop(...args));
  }
}
