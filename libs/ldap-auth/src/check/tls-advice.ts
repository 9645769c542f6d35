import { X509Certificate } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import type { CertificateDetails } from '../directory/check-tls.js';

/** Certificates expiring sooner than this are reported as a warning. */
export const CERTIFICATE_WARNING_DAYS = 30;

/** Where the trusted CAs come from, for messages. */
export interface TrustContext {
  /** LDAP_AUTH_TLS_CA_FILE (or `tlsOptions.ca`) is set. */
  caConfigured: boolean;
  /** Subjects of the configured CA certificates. */
  trustedCas: string[];
  /** The name the certificate was checked against. */
  checkedName: string;
  /** LDAP_AUTH_TLS_SERVERNAME (or `tlsOptions.servername`) is set. */
  servernameSet: boolean;
  now: Date;
}

export interface CertificateVerdict {
  summary: string;
  hint: string;
  variables: string[];
}

/** Subjects of the CA certificates in `ca` (PEM text or buffers, one or many); unreadable ones are left out. */
export function trustedCaSubjects(ca: ConnectionOptions['ca']): string[] {
  if (!ca) return [];
  const items = Array.isArray(ca) ? ca : [ca];
  const subjects: string[] = [];
  for (const item of items) {
    const text = Buffer.isBuffer(item) ? item.toString('utf8') : String(item);
    for (const pem of text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) {
      try {
        subjects.push(oneLine(new X509Certificate(pem).subject));
      } catch {
        // Not a certificate Node can read: the handshake will say so.
      }
    }
  }
  return subjects;
}

function oneLine(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

/** Whole days from `now` until `validTo` (negative once expired). */
export function daysLeft(validTo: string, now: Date): number {
  return Math.floor((new Date(validTo).getTime() - now.getTime()) / 86_400_000);
}

/** The certificate as the report shows it. */
export function certificateLines(certificate: CertificateDetails, now: Date): string[] {
  const left = daysLeft(certificate.validTo, now);
  return [
    `subject  ${certificate.subject}`,
    `issuer   ${certificate.issuer}${certificate.selfIssued ? ' (self-signed)' : ''}`,
    `expires  ${certificate.validTo} (${left >= 0 ? `${left} days left` : `expired ${-left} days ago`})`,
    `SANs     ${certificate.subjectAltNames.length ? certificate.subjectAltNames.join(', ') : 'none (only the subject CN names the server)'}`,
    ...(certificate.chain.length > 1 ? [`chain    ${certificate.chain.join(' < ')} (as the server sent it)`] : []),
    `sha256   ${certificate.fingerprint256}`,
  ];
}

/** Which CAs were trusted, in words. */
export function trustSource(trust: Pick<TrustContext, 'caConfigured' | 'trustedCas'>): string {
  if (!trust.caConfigured) return "Node's bundled public CAs (LDAP_AUTH_TLS_CA_FILE is not set)";
  return trust.trustedCas.length
    ? `LDAP_AUTH_TLS_CA_FILE (${trust.trustedCas.join('; ')})`
    : 'LDAP_AUTH_TLS_CA_FILE (no readable certificate in it)';
}

/**
 * Why a certificate did not verify, from Node's code (`socket.authorizationError`), and what to set.
 * The names Node uses are OpenSSL's `X509_V_ERR_*` without the prefix, and `ERR_TLS_CERT_ALTNAME_INVALID`.
 */
export function explainCertificateFailure(
  code: string,
  certificate: CertificateDetails | undefined,
  trust: TrustContext,
): CertificateVerdict {
  const issuer = certificate?.issuer ?? 'its issuer';
  const trusted = trustSource(trust);
  const caHint = (what: string) =>
    `set LDAP_AUTH_TLS_CA_FILE to a PEM file holding ${what}${trust.caConfigured ? ' (the file now trusts only the CAs listed above)' : ''}`;
  switch (code) {
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return {
        summary: `certificate NOT verified (${code}): it was issued by ${issuer}, which is not among the trusted CAs: ${trusted}`,
        hint: `${caHint(`the CA that issued it (${issuer})`)}; if that CA is an intermediate, the server must also send it, or the file must hold the whole chain`,
        variables: ['LDAP_AUTH_TLS_CA_FILE'],
      };
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return {
        summary: `certificate NOT verified (${code}): the server's certificate is self-signed and not trusted (trusted: ${trusted})`,
        hint: caHint('this very certificate (or better, have the server use one issued by your CA)'),
        variables: ['LDAP_AUTH_TLS_CA_FILE'],
      };
    case 'SELF_SIGNED_CERT_IN_CHAIN': {
      const root = certificate?.chain.at(-1) ?? issuer;
      return {
        summary: `certificate NOT verified (${code}): the chain the server sent ends at ${root}, a CA that is not trusted (trusted: ${trusted})`,
        hint: caHint(`that CA (${root})`),
        variables: ['LDAP_AUTH_TLS_CA_FILE'],
      };
    }
    case 'CERT_HAS_EXPIRED':
      return {
        summary: `certificate NOT verified (${code}): it expired on ${certificate?.validTo ?? 'an earlier date'}`,
        hint: 'renew the directory server certificate (or check this machine’s clock)',
        variables: [],
      };
    case 'CERT_NOT_YET_VALID':
      return {
        summary: `certificate NOT verified (${code}): it is valid only from ${certificate?.validFrom ?? 'a later date'}`,
        hint: 'check the clocks of this machine and of the server',
        variables: [],
      };
    case 'ERR_TLS_CERT_ALTNAME_INVALID': {
      const names = certificate?.subjectAltNames.length
        ? certificate.subjectAltNames.join(', ')
        : `only its subject (${certificate?.subject ?? 'unknown'})`;
      return {
        summary: `certificate NOT verified (hostname mismatch, ${code}): it names ${names}, not "${trust.checkedName}"`,
        hint: trust.servernameSet
          ? `set LDAP_AUTH_TLS_SERVERNAME to a name the certificate holds (now "${trust.checkedName}"), or have the certificate reissued with that name`
          : `use a host name the certificate holds in LDAP_AUTH_URL, or set LDAP_AUTH_TLS_SERVERNAME to one (for example when connecting by IP address or through a load balancer)`,
        variables: trust.servernameSet ? ['LDAP_AUTH_TLS_SERVERNAME'] : ['LDAP_AUTH_URL', 'LDAP_AUTH_TLS_SERVERNAME'],
      };
    }
    case 'CERT_REVOKED':
      return {
        summary: `certificate NOT verified (${code}): it has been revoked`,
        hint: 'the directory server needs a new certificate',
        variables: [],
      };
    default:
      return {
        summary: `certificate NOT verified (${code}); trusted: ${trusted}`,
        hint: 'check LDAP_AUTH_TLS_CA_FILE and LDAP_AUTH_TLS_SERVERNAME against the certificate shown',
        variables: ['LDAP_AUTH_TLS_CA_FILE', 'LDAP_AUTH_TLS_SERVERNAME'],
      };
  }
}
