/**
 * UTCTime and GeneralizedTime in the forms RFC 5280 §4.1.2.5 allows: `YYMMDDHHMMSSZ` and
 * `YYYYMMDDHHMMSSZ`, always UTC, whole seconds. Two-digit years 50–99 are 19xx, 00–49 are 20xx.
 */
import { Asn1Error } from './errors.ts';

const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

function toDate(parts: number[], text: string, offset?: number): Date {
  const [year, month, day, hour, minute, second] = parts as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year); // Date.UTC maps years 0–99 to 1900–1999
  // Reject 31 February and friends: the Date would roll over into another field.
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day ||
    date.getUTCHours() !== hour ||
    date.getUTCMinutes() !== minute ||
    date.getUTCSeconds() !== second
  ) {
    throw new Asn1Error('bad-time', `"${text}" is not a valid date and time`, offset);
  }
  return date;
}

/** Decodes UTCTime contents. */
export function decodeUtcTime(contents: Uint8Array, offset?: number): Date {
  const text = Buffer.from(contents).toString('latin1');
  const m = UTC_TIME.exec(text);
  if (!m) throw new Asn1Error('bad-time', `UTCTime "${text}" is not YYMMDDHHMMSSZ`, offset);
  const parts = m.slice(1).map(Number);
  parts[0] = parts[0]! >= 50 ? 1900 + parts[0]! : 2000 + parts[0]!;
  return toDate(parts, text, offset);
}

/** Decodes GeneralizedTime contents (no fractional seconds, per RFC 5280). */
export function decodeGeneralizedTime(contents: Uint8Array, offset?: number): Date {
  const text = Buffer.from(contents).toString('latin1');
  const m = GENERALIZED_TIME.exec(text);
  if (!m) throw new Asn1Error('bad-time', `GeneralizedTime "${text}" is not YYYYMMDDHHMMSSZ`, offset);
  return toDate(m.slice(1).map(Number), text, offset);
}

function checkDate(date: Date): void {
  if (Number.isNaN(date.getTime())) throw new Asn1Error('bad-time', 'invalid Date');
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function clock(date: Date): string {
  return (
    pad(date.getUTCMonth() + 1) +
    pad(date.getUTCDate()) +
    pad(date.getUTCHours()) +
    pad(date.getUTCMinutes()) +
    pad(date.getUTCSeconds()) +
    'Z'
  );
}

/** UTCTime contents for a date in 1950–2049. Milliseconds are dropped (RFC 5280 has whole seconds). */
export function encodeUtcTimeContents(date: Date): Buffer {
  checkDate(date);
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 2049) throw new Asn1Error('bad-time', `UTCTime cannot hold the year ${year}`);
  return Buffer.from(pad(year % 100) + clock(date), 'latin1');
}

/** GeneralizedTime contents for a date in 0000–9999. Milliseconds are dropped. */
export function encodeGeneralizedTimeContents(date: Date): Buffer {
  checkDate(date);
  const year = date.getUTCFullYear();
  if (year < 0 || year > 9999)
    throw new Asn1Error('bad-time', `GeneralizedTime cannot hold the year ${year}`);
  return Buffer.from(pad(year, 4) + clock(date), 'latin1');
}

/** RFC 5280 §4.1.2.5: UTCTime for 1950 through 2049, GeneralizedTime otherwise. */
export function usesUtcTime(date: Date): boolean {
  const year = date.getUTCFullYear();
  return year >= 1950 && year <= 2049;
}
