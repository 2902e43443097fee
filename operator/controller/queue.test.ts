import { describe, expect, it } from 'vitest';
import { runWorkers, systemClock, WorkQueue, type Clock } from './queue.ts';

/** Timers fire only when the test advances time. */
class FakeClock implements Clock {
  t = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private next = 1;
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  };
  clearTimeout = (h: unknown) => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const due = this.timers[0];
      if (!due || due.at > end) break;
      this.timers.shift();
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
  get pending(): number {
    return this.timers.length;
  }
}

const queue = (o: ConstructorParameters<typeof WorkQueue>[0] = {}) => {
  const clock = new FakeClock();
  return { clock, q: new WorkQueue({ clock, ...o }) };
};

describe('WorkQueue', () => {
  it('de-duplicates: a hundred adds of one key are one get', async () => {
    const { q } = queue();
    for (let i = 0; i < 100; i++) q.add('ns/a');
    q.add('ns/b');
    expect(q.length).toBe(2);
    expect(await q.get()).toBe('ns/a');
    expect(await q.get()).toBe('ns/b');
    expect(q.length).toBe(0);
  });

  it('a key added while processing is queued once more after done, never handed out twice at once', async () => {
    const { q } = queue();
    q.add('k');
    expect(await q.get()).toBe('k');
    q.add('k');
    q.add('k');
    expect(q.length).toBe(0);
    expect(q.processing).toBe(1);
    q.done('k');
    expect(q.length).toBe(1);
    expect(await q.get()).toBe('k');
  });

  it('with four workers no key is processed concurrently', async () => {
    const { q } = queue();
    const inFlight = new Set<string>();
    let overlaps = 0;
    let handled = 0;
    const workers = runWorkers(q, 4, async (key) => {
      if (inFlight.has(key)) overlaps++;
      inFlight.add(key);
      await new Promise((r) => setTimeout(r, 1));
      inFlight.delete(key);
      handled++;
    });
    for (let round = 0; round < 20; round++) {
      for (const k of ['a', 'b', 'c']) q.add(k);
      await new Promise((r) => setTimeout(r, 0));
    }
    while (q.length > 0 || q.processing > 0) await new Promise((r) => setTimeout(r, 2));
    q.shutDown();
    await workers;
    expect(overlaps).toBe(0);
    expect(handled).toBeGreaterThanOrEqual(3);
  });

  it('backs off per key: base doubling to the cap; forget resets', async () => {
    const { q, clock } = queue({ baseDelayMs: 100, maxDelayMs: 500, burst: 1000 });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = clock.t;
      q.addRateLimited('k');
      while (q.length === 0) clock.advance(10);
      delays.push(clock.t - start);
      await q.get();
      q.done('k');
    }
    expect(delays).toEqual([100, 200, 400, 500, 500]);
    expect(q.failures('k')).toBe(5);
    q.forget('k');
    expect(q.failures('k')).toBe(0);
  });

  it('the global bucket limits rate-limited adds across keys after its burst', () => {
    const { q, clock } = queue({ baseDelayMs: 1, ratePerSecond: 10, burst: 2 });
    for (const k of ['a', 'b', 'c', 'd']) q.addRateLimited(k);
    clock.advance(1);
    expect(q.length).toBe(2);
    clock.advance(99);
    expect(q.length).toBe(3);
    clock.advance(100);
    expect(q.length).toBe(4);
  });

  it('addRateLimited waits at least the given minimum (Retry-After)', () => {
    const { q, clock } = queue({ baseDelayMs: 10 });
    q.addRateLimited('k', 2000);
    clock.advance(1999);
    expect(q.length).toBe(0);
    clock.advance(1);
    expect(q.length).toBe(1);
  });

  it('addAfter: the earliest deferral wins; add makes it immediate', () => {
    const { q, clock } = queue();
    q.addAfter('k', 1000);
    q.addAfter('k', 300);
    q.addAfter('k', 5000);
    expect(q.deferred).toBe(1);
    clock.advance(299);
    expect(q.length).toBe(0);
    clock.advance(1);
    expect(q.length).toBe(1);
    q.addAfter('j', 1000);
    q.add('j');
    expect(q.length).toBe(2);
    expect(q.deferred).toBe(0);
  });

  it('a backoff is not cut short by a later resync deferral', () => {
    const { q, clock } = queue({ baseDelayMs: 1000 });
    q.addRateLimited('k');
    q.addAfter('k', 10_000);
    clock.advance(999);
    expect(q.length).toBe(0);
    clock.advance(1);
    expect(q.length).toBe(1);
  });

  it('shutDown wakes waiting getters with undefined and cancels timers; drain waits for work in hand', async () => {
    const { q, clock } = queue();
    const waiting = q.get();
    q.addAfter('later', 1000);
    q.shutDown();
    expect(await waiting).toBeUndefined();
    expect(clock.pending).toBe(0);
    expect(await q.get()).toBeUndefined();

    const { q: q2 } = queue();
    q2.add('x');
    await q2.get();
    let drained = false;
    const d = q2.drain().then(() => (drained = true));
    await Promise.resolve();
    expect(drained).toBe(false);
    q2.done('x');
    await d;
    expect(drained).toBe(true);
  });

  it('runWorkers survives a failing handler and reports it', async () => {
    const { q } = queue();
    const errors: string[] = [];
    const seen: string[] = [];
    const done = runWorkers(
      q,
      1,
      async (key) => {
        seen.push(key);
        if (key === 'bad') throw new Error('boom');
      },
      (key, err) => errors.push(`${key}: ${(err as Error).message}`),
    );
    q.add('bad');
    q.add('good');
    while (seen.length < 2) await new Promise((r) => setTimeout(r, 1));
    q.shutDown();
    await done;
    expect(seen).toEqual(['bad', 'good']);
    expect(errors).toEqual(['bad: boom']);
  });
});

describe('systemClock', () => {
  it("never turns a delay past Node's timer range, or NaN, into an immediate timer", async () => {
    let fired = 0;
    const handles = [2 ** 40, Number.NaN, Infinity].map((ms) => systemClock.setTimeout(() => fired++, ms));
    await new Promise((r) => setTimeout(r, 50));
    for (const h of handles) systemClock.clearTimeout(h);
    expect(fired).toBe(0);
  });
});
