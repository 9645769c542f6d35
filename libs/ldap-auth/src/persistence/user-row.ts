/**
 * The `users` columns both stores read, as the drivers return them: ids may come as strings (bigint), booleans
 * as 0/1 (SQLite, MySQL).
 */
export interface UserRow {
  id: number;
  username: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  ldap_dn: string | null;
  ldap_uuid: string | null;
  is_active: unknown;
  deactivated_by_sync: unknown;
}
