/**
 * Checks on one configuration value. Each takes the value with the flag or variable it came from, so
 * the AgentError (step `config`) names what the operator must change.
 */
import { durationMs } from '../../core/duration.ts';
import path from 'node:path';
import { AgentError } from '../errors.ts';

/** A value and the name (flag or variable) it came from. */
export interface Sourced {
  value: string;
  from: string;
}

export const missing = (message: string, hint?: string): AgentError =>
  new AgentError('config-missing', message, { step: 'config', ...(hint === undefined ? {} : { hint }) });
export const invalid = (message: string, hint?: string): AgentError =>
  new AgentError('config-invalid', message, { step: 'config', ...(hint === undefined ? {} : { hint }) });

export function oneOf<T extends string>(v: Sourced, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(v.value)) {
    throw invalid(`${v.from}=${JSON.stringify(v.value)}: expected one of ${allowed.join(', ')}`);
  }
  return v.value as T;
}

function parsedUrl(v: Sourced): URL {
  try {
    return new URL(v.value);
  } catch {
    throw invalid(`${v.from}=${JSON.stringify(v.value)} is not a URL`);
  }
}

/** An https URL; `originOnly` refuses a path, query or credentials (vault and MAA are origins). */
export function httpsUrl(v: Sourced, originOnly: boolean): string {
  const url = parsedUrl(v);
  if (url.protocol !== 'https:') throw invalid(`${v.from}=${JSON.stringify(v.value)} must be an https URL`);
  if (url.username || url.password) throw invalid(`${v.from} must not carry credentials`);
  if (originOnly && (url.pathname !== '/' || url.search || url.hash)) {
    throw invalid(`${v.from}=${JSON.stringify(v.value)} must be an origin (no path or query)`);
  }
  return originOnly ? url.origin : v.value.replace(/\/+$/, '');
}

/** THIM is plain http on IMDS; https is accepted too. */
export function httpUrl(v: Sourced): string {
  const url = parsedUrl(v);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`${v.from}=${JSON.stringify(v.value)} must be an http or https URL`);
  }
  return url.origin;
}

export function absolutePath(v: Sourced): string {
  if (!path.isAbsolute(v.value))
    throw invalid(`${v.from}=${JSON.stringify(v.value)} must be an absolute path`);
  return path.normalize(v.value);
}

export function bool(v: Sourced | undefined, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (v.value === 'true') return true;
  if (v.value === 'false') return false;
  throw invalid(`${v.from}=${JSON.stringify(v.value)}: expected true or false`);
}

export function port(v: Sourced): number {
  const n = Number(v.value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw invalid(`${v.from}=${JSON.stringify(v.value)}: expected a port number`);
  return n;
}

export function duration(v: Sourced, minMs: number): number {
  const parsed = durationMs(v.value);
  if (!('ms' in parsed) || parsed.ms < minMs) {
    throw invalid(
      `${v.from}=${JSON.stringify(v.value)}: expected a duration such as 500ms, 30s, 2m or 1m30s${minMs > 0 ? ` (at least ${minMs} ms)` : ''}`,
    );
  }
  return parsed.ms;
}

export function fileOwner(v: Sourced): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(v.value);
  if (!m) throw invalid(`${v.from}=${JSON.stringify(v.value)}: expected uid or uid:gid (numbers)`);
  const uid = Number(m[1]);
  return { uid, gid: m[2] === undefined ? uid : Number(m[2]) };
}

/** PEM given inline (environment): certificates only, and not beside the file form of the same option. */
export function inlinePem(v: Sourced | undefined, fileForm: Sourced | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (fileForm !== undefined) throw invalid(`${v.from} and ${fileForm.from} are both set; choose one`);
  if (!v.value.includes('-----BEGIN CERTIFICATE-----') || /PRIVATE KEY/.test(v.value)) {
    throw invalid(`${v.from}: expected PEM certificates (and nothing else)`);
  }
  return v.value + '\n';
}
