/**
 * LDAP GeneralizedTime (RFC 4517 3.3.13) as servers write modifyTimestamp: `20240131235959Z`, with optional
 * minutes/seconds, a fraction (AD writes `.0Z`) and a UTC offset. Pure.
 */

const PATTERN = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{4})$/;

/** Milliseconds since the epoch, or undefined when `text` is not a GeneralizedTime. */
export function parseGeneralizedTime(text: string): number | undefined {
  const m = PATTERN.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi = '00', s = '00', fraction, zone] = m;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (fraction) ms += Math.floor(Number(`0.${fraction}`) * 1000);
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    ms -= sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5))) * 60_000;
  }
  return Number.isNaN(ms) ? undefined : ms;
}

/** `YYYYMMDDHHMMSSZ` in UTC, whole seconds (rounded down): what an ordering filter on modifyTimestamp takes. */
export function formatGeneralizedTime(ms: number): string {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}
