/**
 * The part of the ldapjs 3 runtime the embedded directory uses. @types/ldapjs describes the 2.x API,
 * so the shapes are declared here instead of trusting those types.
 */
import type { Server as NetServer, Socket } from 'node:net';

import ldap from 'ldapjs';

export interface ParsedRdn {
  keys(): Iterable<string>;
  getValue(name: string): unknown;
}
export interface ParsedDn {
  readonly length: number;
  rdnAt(index: number): ParsedRdn;
}
export interface RequestControl {
  type: string;
  criticality: boolean;
  value?: { size?: number; cookie?: Buffer } | null;
}
/**
 * A parsed search filter. ldapjs 3 turns the filter it receives into a string and parses that
 * again without undoing the RFC 4515 escapes: a client's `o(brien)` arrives here as
 * `o\28brien\29`, `ü` as `\c3\bc`. Values go through `assertionValue()` before use.
 */
export interface FilterNode {
  type: string;
  attribute?: string;
  value?: unknown;
  clauses: FilterNode[];
  initial?: string;
  any?: string[];
  final?: string;
  matchingRule?: string;
  dnAttributes?: boolean;
}
export interface LdapRequest {
  connection: Socket;
  controls: RequestControl[];
}
export interface BindRequest extends LdapRequest {
  dn: unknown;
  credentials: string;
}
export interface SearchRequest extends LdapRequest {
  baseObject: ParsedDn;
  scope: number;
  filter: FilterNode;
  attributes: string[];
  sizeLimit: number;
  typesOnly: boolean;
}
export interface CompareRequest extends LdapRequest {
  entry: unknown;
  attribute: string;
  value: string;
}
export interface LdapResponse {
  messageId: number;
  matchedDN: string;
  diagnosticMessage: string;
  addControl(control: unknown): void;
  send(entry: unknown): void;
  end(status?: number): void;
}
export type Next = () => void;
export type Handler<R> = (req: R, res: LdapResponse, next: Next) => void;
export interface LdapjsServer {
  server: NetServer;
  on(event: 'error', listener: (err: unknown) => void): void;
  listen(port: number, host: string, callback: () => void): void;
  close(callback: () => void): void;
  bind(dn: string, handler: Handler<BindRequest>): void;
  search(dn: string, handler: Handler<SearchRequest>): void;
  compare(dn: string, handler: Handler<CompareRequest>): void;
  add(dn: string, handler: Handler<LdapRequest>): void;
  del(dn: string, handler: Handler<LdapRequest>): void;
  modify(dn: string, handler: Handler<LdapRequest>): void;
  modifyDN(dn: string, handler: Handler<LdapRequest>): void;
}
interface LdapjsRuntime {
  createServer(options?: object): LdapjsServer;
  DN: { fromString(dn: string): ParsedDn };
  SearchEntry: new (options: { messageId: number; objectName: unknown; attributes: unknown[] }) => unknown;
  SearchReference: new (options: { messageId: number; uri: string[] }) => unknown;
  Attribute: new (options: { type: string; values: string[] }) => unknown;
  PagedResultsControl: new (options: { value: { size: number; cookie: Buffer } }) => unknown;
}

// ldapjs is CommonJS: the default import is its module.exports, under ts-jest and plain Node alike.
export const ldapjs = ldap as unknown as LdapjsRuntime;

/** ldapjs would re-serialise a DN string, hex-escaping UTF-8; this hands it the stored form as is. */
export function verbatimDn(dn: string): object {
  return { [Symbol.toStringTag]: 'LdapDn', toString: () => dn };
}
