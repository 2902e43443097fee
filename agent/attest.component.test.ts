/**
 * attest() against a stand-in attestation endpoint that answers from a script: the service's
 * Retry-After is obeyed within the run's deadline, and one past it stops the run at once. Waits are
 * recorded, not slept.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { attest } from './attest.ts';
import { AgentError } from './errors.ts';

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

let server: http.Server;
let url = '';
let script: Answer[] = [];
let calls = 0;
let slept: number[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      calls++;
      const answer = script.shift() ?? { status: 500, body: { error: { code: 'Unscripted' } } };
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  calls = 0;
  slept = [];
});

const run = (deadlineInMs: number) =>
  attest({
    attestationUrl: url,
    report: Buffer.alloc(1184),
    vcekChainPem: '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
    runtimeData: Buffer.from('{}'),
    deadline: Date.now() + deadlineInMs,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
  });

const throttled = (status: number, retryAfter?: string): Answer => ({
  status,
  ...(retryAfter === undefined ? {} : { headers: { 'retry-after': retryAfter } }),
  body: { error: { code: 'Throttled', message: 'slow down' } },
});

describe('attest', () => {
  it('waits what a 429 Retry-After asks instead of its own backoff, then attests', async () => {
    script = [throttled(429, '7'), { status: 200, body: { token: 'a.b.c' } }];
    expect(await run(60_000)).toBe('a.b.c');
    expect(calls).toBe(2);
    expect(slept).toHaveLength(1);
    // The backoff's first wait is at most 250 ms; the service asked for 7 s.
    expect(slept[0]).toBeGreaterThan(6_000);
    expect(slept[0]).toBeLessThanOrEqual(7_000);
  });

  it('a 503 whose Retry-After ends past the deadline stops the run at once, saying when to try again', async () => {
    script = [throttled(503, '120')];
    const started = Date.now();
    const err = (await run(30_000).catch((e: unknown) => e)) as AgentError;
    expect(err).toBeInstanceOf(AgentError);
    expect(err).toMatchObject({ kind: 'deadline-exceeded', step: 'attestation' });
    expect(err.message).toMatch(/answered 503 Throttled.*after the deadline$/);
    const retryAt = Date.parse(/^retry after (\S+)$/.exec(err.hint ?? '')![1]!);
    expect(retryAt - started).toBeGreaterThanOrEqual(119_000);
    expect(calls).toBe(1);
    expect(slept).toEqual([]);
  });

  it('without Retry-After backs off on its own; a refusal of the evidence is not retried', async () => {
    script = [throttled(503), { status: 200, body: { token: 'a.b.c' } }];
    expect(await run(60_000)).toBe('a.b.c');
    expect(slept).toHaveLength(1);
    expect(slept[0]).toBeLessThanOrEqual(250);

    calls = 0;
    script = [{ status: 400, body: { error: { code: 'InvalidQuote', message: 'bad report' } } }];
    await expect(run(60_000)).rejects.toMatchObject({ kind: 'attestation-refused', step: 'attestation' });
    expect(calls).toBe(1);
  });
});
