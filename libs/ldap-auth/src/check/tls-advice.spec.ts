import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CertificateDetails } from '../directory/check-tls.js';
import {
  certificateLines,
  daysLeft,
  explainCertificateFailure,
  trustedCaSubjects,
  type TrustContext,
} from './tls-advice.js';

const now = new Date('2030-01-01T00:00:00Z');
const certificate: CertificateDetails = {
  subject: 'CN=DC1.example.test',
  issuer: 'CN=Samba CA',
  validFrom: '2029-01-01T00:00:00.000Z',
  validTo: '2031-01-01T00:00:00.000Z',
  subjectAltNames: [],
  serialNumber: '01',
  fingerprint256: 'AA:BB',
  selfIssued: false,
  chain: ['CN=DC1.example.test'],
};
const trust: TrustContext = {
  caConfigured: true,
  trustedCas: ['CN=Other CA'],
  checkedName: '127.0.0.1',
  servernameSet: false,
  now,
};

describe('explainCertificateFailure', () => {
  it('an issuer that is not trusted: names the issuer, what is trusted, and LDAP_AUTH_TLS_CA_FILE', () => {
    const verdict = explainCertificateFailure('UNABLE_TO_VERIFY_LEAF_SIGNATURE', certificate, trust);
    expect(verdict.summary).toBe(
      'certificate NOT verified (UNABLE_TO_VERIFY_LEAF_SIGNATURE): it was issued by CN=Samba CA, which is not among the trusted CAs: LDAP_AUTH_TLS_CA_FILE (CN=Other CA)',
    );
    expect(verdict.hint).toMatch(
      /^set LDAP_AUTH_TLS_CA_FILE to a PEM file holding the CA that issued it \(CN=Samba CA\)/,
    );
    expect(verdict.variables).toEqual(['LDAP_AUTH_TLS_CA_FILE']);
  });

  it("without a CA file, says Node's bundled CAs were used", () => {
    const verdict = explainCertificateFailure(
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      { ...certificate, selfIssued: true },
      {
        ...trust,
        caConfigured: false,
        trustedCas: [],
      },
    );
    expect(verdict.summary).toMatch(/self-signed .*Node's bundled public CAs \(LDAP_AUTH_TLS_CA_FILE is not set\)/);
  });

  it('a name mismatch: the names the certificate holds, and the variable to set', () => {
    const withSans = { ...certificate, subjectAltNames: ['DNS:localhost', 'IP Address:127.0.0.1'] };
    const viaUrl = explainCertificateFailure('ERR_TLS_CERT_ALTNAME_INVALID', certificate, trust);
    expect(viaUrl.summary).toBe(
      'certificate NOT verified (hostname mismatch, ERR_TLS_CERT_ALTNAME_INVALID): it names only its subject (CN=DC1.example.test), not "127.0.0.1"',
    );
    expect(viaUrl.variables).toEqual(['LDAP_AUTH_URL', 'LDAP_AUTH_TLS_SERVERNAME']);
    const viaServername = explainCertificateFailure('ERR_TLS_CERT_ALTNAME_INVALID', withSans, {
      ...trust,
      checkedName: 'ldap.elsewhere.test',
      servernameSet: true,
    });
    expect(viaServername.summary).toMatch(/it names DNS:localhost, IP Address:127.0.0.1, not "ldap.elsewhere.test"/);
    expect(viaServername.variables).toEqual(['LDAP_AUTH_TLS_SERVERNAME']);
  });

  it('a chain that ends at an untrusted CA: names that CA', () => {
    const chained = { ...certificate, chain: ['CN=localhost', 'CN=Test Root'] };
    const verdict = explainCertificateFailure('SELF_SIGNED_CERT_IN_CHAIN', chained, trust);
    expect(verdict.summary).toMatch(/the chain the server sent ends at CN=Test Root, a CA that is not trusted/);
    expect(verdict.hint).toMatch(/^set LDAP_AUTH_TLS_CA_FILE to a PEM file holding that CA \(CN=Test Root\)/);
    expect(certificateLines(chained, now)).toContain('chain    CN=localhost < CN=Test Root (as the server sent it)');
  });

  it('an expired certificate, and a code it does not know', () => {
    expect(explainCertificateFailure('CERT_HAS_EXPIRED', certificate, trust).summary).toMatch(
      /expired on 2031-01-01T00:00:00.000Z/,
    );
    expect(explainCertificateFailure('SOMETHING_NEW', certificate, trust).variables).toEqual([
      'LDAP_AUTH_TLS_CA_FILE',
      'LDAP_AUTH_TLS_SERVERNAME',
    ]);
  });
});

describe('certificate lines', () => {
  it('show days left, or how long ago it expired', () => {
    expect(daysLeft(certificate.validTo, now)).toBe(365);
    expect(certificateLines(certificate, now)).toContain('expires  2031-01-01T00:00:00.000Z (365 days left)');
    expect(certificateLines(certificate, new Date('2031-01-11T00:00:00Z'))).toContain(
      'expires  2031-01-01T00:00:00.000Z (expired 10 days ago)',
    );
    expect(certificateLines(certificate, now)).toContain('SANs     none (only the subject CN names the server)');
  });
});

describe('trustedCaSubjects', () => {
  let dir: string;
  let pem: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'tls-advice-'));
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
        path.join(dir, 'ca.pem'),
        '-days',
        '2',
        '-subj',
        '/O=Unit/CN=Unit CA',
      ],
      { stdio: 'ignore' },
    );
    pem = readFileSync(path.join(dir, 'ca.pem'), 'utf8');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every certificate of a PEM bundle, in one line each, and skips what it cannot read', () => {
    const broken = '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----';
    expect(trustedCaSubjects(`${pem}\n${broken}\n${pem}`)).toEqual(['O=Unit, CN=Unit CA', 'O=Unit, CN=Unit CA']);
    expect(trustedCaSubjects([Buffer.from(pem)])).toEqual(['O=Unit, CN=Unit CA']);
    expect(trustedCaSubjects(undefined)).toEqual([]);
  });
});
