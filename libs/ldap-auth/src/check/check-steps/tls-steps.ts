import { ldapUrlParts } from '../../directory/check-network.js';
import {
  type CheckOpenError,
  type ConnectionSettings,
  inspectServerCertificate,
  type TlsDetails,
} from '../../directory/check-tls.js';
import type { StepOutcome } from '../check-report.js';
import {
  CERTIFICATE_WARNING_DAYS,
  certificateLines,
  daysLeft,
  explainCertificateFailure,
  trustedCaSubjects,
  trustSource,
} from '../tls-advice.js';
import type { CheckContext } from './check-context.js';

/** The outcomes of a URL's StartTLS and TLS steps (the step `urlN.starttls`, `urlN.tls`). */

/** Why StartTLS failed, and what to look at. */
export function startTlsFailure(failure: CheckOpenError): StepOutcome {
  if (failure.resultCode !== undefined) {
    return {
      status: 'fail',
      summary: failure.message,
      hint: 'the server has no TLS set up for StartTLS (slapd: TLSCertificateFile / TLSCertificateKeyFile), or use its ldaps:// URL in LDAP_AUTH_URL',
      variables: ['LDAP_AUTH_USE_TLS', 'LDAP_AUTH_URL'],
    };
  }
  if (failure.stage === 'timeout') {
    return {
      status: 'fail',
      summary: `StartTLS and the TLS handshake did not finish: ${failure.message}`,
      hint: 'is this an LDAP port (not an LDAPS one)? LDAP_AUTH_CONNECT_TIMEOUT + LDAP_AUTH_RECEIVE_TIMEOUT set the wait',
      variables: ['LDAP_AUTH_URL', 'LDAP_AUTH_CONNECT_TIMEOUT'],
    };
  }
  return {
    status: 'fail',
    summary: failure.message,
    hint: 'is this an LDAP port? StartTLS (LDAP_AUTH_USE_TLS=true) needs ldap:// on the plain LDAP port (389)',
    variables: ['LDAP_AUTH_URL', 'LDAP_AUTH_USE_TLS'],
  };
}

/** The verified handshake failed: look at the certificate on a second, unverified connection (no credential on it). */
export async function tlsFailure(
  ctx: CheckContext,
  url: string,
  settings: ConnectionSettings,
  failure: CheckOpenError,
): Promise<StepOutcome> {
  let inspected: TlsDetails | undefined;
  try {
    inspected = await inspectServerCertificate(url, settings);
  } catch {
    inspected = undefined;
  }
  if (inspected && !inspected.authorized && inspected.authorizationError) {
    const outcome = tlsOutcome(ctx, inspected);
    return {
      ...outcome,
      details: [
        ...(outcome.details ?? []),
        '(the certificate was read on a second connection without verification, closed right after the handshake)',
      ],
    };
  }
  const secure = ldapUrlParts(url).secure;
  return {
    status: 'fail',
    summary: `TLS handshake failed: ${failure.message}`,
    hint: secure
      ? 'is this port speaking TLS? ldaps:// needs the LDAPS port (636); for the plain port (389) use ldap:// with LDAP_AUTH_USE_TLS=true'
      : 'check the server’s TLS setup, LDAP_AUTH_TLS_CA_FILE and LDAP_AUTH_TLS_SERVERNAME',
    variables: ['LDAP_AUTH_URL', 'LDAP_AUTH_TLS_CA_FILE'],
  };
}

/** A handshake's verdict: the certificate verified (and for how long still), or why not. */
export function tlsOutcome(ctx: CheckContext, tls: TlsDetails): StepOutcome {
  const { tlsOptions } = ctx.options.server;
  const now = new Date();
  const details = tls.certificate ? certificateLines(tls.certificate, now) : ['no certificate was presented'];
  const trust = {
    caConfigured: !!tlsOptions.ca,
    trustedCas: trustedCaSubjects(tlsOptions.ca),
    checkedName: tls.checkedName,
    servernameSet: !!tlsOptions.servername,
    now,
  };
  const data = {
    protocol: tls.protocol,
    cipher: tls.cipher,
    authorized: tls.authorized,
    certificate: tls.certificate,
  };
  if (!tls.authorized) {
    const verdict = explainCertificateFailure(tls.authorizationError ?? 'unknown', tls.certificate, trust);
    const accepted = tlsOptions.rejectUnauthorized === false;
    return {
      status: 'fail',
      summary: verdict.summary,
      details,
      hint: accepted
        ? `${verdict.hint}. LDAP_AUTH_TLS_REJECT_UNAUTHORIZED=false makes the app accept it anyway (anyone on the path can read passwords); this check sends no credential on it`
        : verdict.hint,
      variables: [...verdict.variables, ...(accepted ? ['LDAP_AUTH_TLS_REJECT_UNAUTHORIZED'] : [])],
      data: { ...data, authorizationError: tls.authorizationError },
    };
  }
  const verified = `${tls.protocol ?? 'TLS'}, certificate verified for "${tls.checkedName}" against ${trustSource(trust)}`;
  const left = tls.certificate ? daysLeft(tls.certificate.validTo, now) : Infinity;
  if (left < CERTIFICATE_WARNING_DAYS) {
    return {
      status: 'warn',
      summary: `${verified}, but it expires in ${left} days`,
      details,
      hint: 'renew the directory server certificate before it expires: logins stop when it does',
      data,
    };
  }
  if (tlsOptions.rejectUnauthorized === false) {
    return {
      status: 'warn',
      summary: verified,
      details,
      hint: 'LDAP_AUTH_TLS_REJECT_UNAUTHORIZED=false: the app would accept any certificate; set it to true',
      variables: ['LDAP_AUTH_TLS_REJECT_UNAUTHORIZED'],
      data,
    };
  }
  return { status: 'ok', summary: verified, details, data };
}
