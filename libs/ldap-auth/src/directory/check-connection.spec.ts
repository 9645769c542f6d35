import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { CheckNetworkError, ldapUrlParts, probeTcp, resolveLdapHost } from './check-network.js';
import { CheckOpenError, type ConnectionSettings, inspectServerCertificate } from './check-tls.js';
import { openCheckConnection } from './check-connection.js';

describe('URL parts and name resolution', () => {
  it('reads host, port and transport as openLdapSocket does', () => {
    expect(ldapUrlParts('ldap://ldap.example.com')).toEqual({ hostname: 'ldap.example.com', port: 389, secure: false });
    expect(ldapUrlParts('LDAPS://[::1]')).toEqual({ hostname: '::1', port: 636, secure: true });
    expect(ldapUrlParts('ldap://127.0.0.1:3389')).toEqual({ hostname: '127.0.0.1', port: 3389, secure: false });
  });

  it('does not look up an IP address', async () => {
    await expect(resolveLdapHost('127.0.0.1', 1000)).resolves.toEqual({ isIp: true, addresses: ['127.0.0.1'], ms: 0 });
  });

  it('reports a refused connection with its code', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await probeTcp('127.0.0.1', port, 2000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckNetworkError);
    expect((error as CheckNetworkError).code).toBe('ECONNREFUSED');
  });
});

describe('a TLS server whose certificate does not verify', () => {
  let dir: string;
  let cert: string;
  let server: tls.Server;
  let url: string;
  /** Application bytes the server received after each handshake. */
  const received: Buffer[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ldap-check-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=unit.test',
        '-addext',
        'subjectAltName=DNS:unit.test',
      ],
      { stdio: 'ignore' },
    );
    cert = readFileSync(path.join(dir, 'cert.pem'), 'utf8');
    server = tls.createServer({ key: readFileSync(path.join(dir, 'key.pem')), cert }, (socket) => {
      socket.on('data', (chunk: Buffer) => received.push(chunk));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `ldaps://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const settings = (tlsOptions: tls.ConnectionOptions): ConnectionSettings => ({
    starttls: false,
    tlsOptions,
    openDeadlineMs: 3000,
    timeoutMs: 3000,
  });

  it('the verified connection fails at the TLS stage', async () => {
    const error = await openCheckConnection(url, settings({})).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckOpenError);
    expect((error as CheckOpenError).stage).toBe('tls');
  });

  it('the inspection shows the certificate and why it failed, and sends nothing after the handshake', async () => {
    received.length = 0;
    const details = await inspectServerCertificate(url, settings({}));
    expect(details).toMatchObject({
      authorized: false,
      authorizationError: 'DEPTH_ZERO_SELF_SIGNED_CERT',
      checkedName: '127.0.0.1',
      certificate: {
        subject: 'CN=unit.test',
        issuer: 'CN=unit.test',
        subjectAltNames: ['DNS:unit.test'],
        selfIssued: true,
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(Buffer.concat(received).length).toBe(0);
  });

  it('trusted, but checked against another name: a hostname mismatch', async () => {
    const details = await inspectServerCertificate(url, settings({ ca: cert }));
    expect(details).toMatchObject({ authorized: false, authorizationError: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });

  it('trusted and checked against its name: verified', async () => {
    const connection = await openCheckConnection(url, settings({ ca: cert, servername: 'unit.test' }));
    try {
      expect(connection.tls).toMatchObject({ authorized: true, checkedName: 'unit.test' });
    } finally {
      await connection.close();
    }
  });
});
