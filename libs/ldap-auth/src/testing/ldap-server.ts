/**
 * The ldapjs wiring: one listener, every operation mounted at the root DSE so that the directory's
 * own code sees every request, and every answer (or dropped connection) produced in one place.
 */
import type { AddressInfo, Socket } from 'node:net';

import { LdapResultError, RESULT, type Outcome } from './ldap-protocol.js';
import {
  ldapjs,
  type BindRequest,
  type CompareRequest,
  type Handler,
  type LdapRequest,
  type LdapResponse,
  type LdapjsServer,
  type Next,
  type SearchRequest,
} from './ldapjs-runtime.js';

/** What the directory does with each operation; the response is only for sending entries. */
export interface Operations {
  bind(req: BindRequest): Outcome;
  search(req: SearchRequest, res: LdapResponse): Outcome;
  compare(req: CompareRequest): Outcome;
}

export class LdapServer {
  readonly #server: LdapjsServer;
  readonly #sockets = new Set<Socket>();
  #stopping: Promise<void> | undefined;

  constructor(operations: Operations) {
    // No logger is passed: ldapjs then logs nothing, in particular not the bind requests it
    // would otherwise dump, credentials included, at debug level.
    this.#server = ldapjs.createServer();
    // ldapjs reports unparsable client messages (a malformed DN, say) as 'error' events and
    // drops that connection; without a listener the event would crash the process.
    this.#server.on('error', () => undefined);
    this.#server.server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });

    this.#server.bind('', (req, res, next) => answer(req, res, next, () => operations.bind(req)));
    this.#server.search('', (req, res, next) => answer(req, res, next, () => operations.search(req, res)));
    this.#server.compare('', (req, res, next) => answer(req, res, next, () => operations.compare(req)));
    const readOnly: Handler<LdapRequest> = (req, res, next) =>
      answer(req, res, next, () => ({
        code: RESULT.unwillingToPerform,
        message: 'the embedded directory is read-only over LDAP; use addEntry/modifyEntry/removeEntry',
      }));
    this.#server.add('', readOnly);
    this.#server.del('', readOnly);
    this.#server.modify('', readOnly);
    this.#server.modifyDN('', readOnly);
  }

  /** Resolves with the ldap:// URL once listening. */
  async listen(host: string, port: number): Promise<string> {
    const net = this.#server.server;
    await new Promise<void>((resolve, reject) => {
      net.once('error', reject);
      this.#server.listen(port, host, () => {
        net.off('error', reject);
        resolve();
      });
    });
    const address = net.address() as AddressInfo;
    return `ldap://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  }

  /** Closes the listener and every open connection; safe to call more than once. */
  stop(): Promise<void> {
    this.#stopping ??= new Promise<void>((resolve) => {
      // The callback also fires (with an error) when the server is not listening: closed either way.
      this.#server.close(() => resolve());
      for (const socket of this.#sockets) socket.destroy();
      this.#sockets.clear();
    });
    return this.#stopping;
  }
}

function answer(req: LdapRequest, res: LdapResponse, next: Next, run: () => Outcome): void {
  let outcome: Outcome;
  try {
    outcome = run();
  } catch (error) {
    outcome =
      error instanceof LdapResultError
        ? { code: error.code, message: error.message }
        : {
            code: RESULT.other,
            message: `embedded directory error: ${error instanceof Error ? error.message : String(error)}`,
          };
  }
  if ('dropConnection' in outcome) {
    // A server that dies: no result, no Notice of Disconnection, just a closed socket.
    req.connection.destroy();
  } else {
    res.matchedDN = outcome.matchedDN ?? '';
    res.diagnosticMessage = outcome.message ?? '';
    res.end(outcome.code);
  }
  next();
}
