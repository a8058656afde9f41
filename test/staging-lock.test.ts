import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { StagingLock } from '../src/runtime/staging-lock';
import { TransientError } from '../src/contracts/errors';

/** A step that runs until its signal aborts (then takes `unwindMs` to let go), recording what happened. */
function step(events: string[], name: string, unwindMs = 20) {
  return async (signal: AbortSignal): Promise<string> => {
    events.push(`${name} start`);
    if (!signal.aborted) await once(signal, 'abort');
    events.push(`${name} told to stop`);
    await new Promise((r) => setTimeout(r, unwindMs));
    events.push(`${name} stopped`);
    return name;
  };
}

describe('staging lock (one attempt at a time in a run directory)', () => {
  test('a newer attempt stops the older one and starts only once it has let go', async () => {
    const lock = new StagingLock(5_000);
    const events: string[] = [];
    const never = new AbortController().signal;
    const first = lock.run('/staging/run-1', never, step(events, 'attempt 1', 50));
    await new Promise((r) => setTimeout(r, 10));
    const second = lock.run('/staging/run-1', never, async (signal) => {
      events.push('attempt 2 start');
      assert.equal(signal.aborted, false);
      return 'attempt 2';
    });
    assert.deepEqual(await Promise.all([first, second]), ['attempt 1', 'attempt 2']);
    assert.deepEqual(events, ['attempt 1 start', 'attempt 1 told to stop', 'attempt 1 stopped', 'attempt 2 start']);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(lock.held(), []);
  });

  test('different runs do not wait for each other', async () => {
    const lock = new StagingLock(5_000);
    const events: string[] = [];
    const stop = new AbortController();
    const a = lock.run('/staging/run-a', stop.signal, step(events, 'a', 0));
    const b = await lock.run('/staging/run-b', new AbortController().signal, async (signal) => (signal.aborted ? 'aborted' : 'b ran'));
    assert.equal(b, 'b ran');
    assert.deepEqual(events, ['a start'], 'run a was neither stopped nor waited for');
    stop.abort();
    assert.equal(await a, 'a');
  });

  test('an attempt that will not stop fails the newer one retryably, and the one after still waits for it', async () => {
    const lock = new StagingLock(100);
    const events: string[] = [];
    let release!: () => void;
    const stuck = lock.run('/staging/run-1', new AbortController().signal, async () => {
      events.push('stuck start');
      await new Promise<void>((r) => (release = r)); // ignores its signal
      events.push('stuck end');
    });
    await new Promise((r) => setTimeout(r, 10));
    let waits = 0;
    const second = lock.run(
      '/staging/run-1',
      new AbortController().signal,
      async () => events.push('second ran'),
      () => waits++,
    );
    await assert.rejects(second, (e: unknown) => e instanceof TransientError && /still working in \/staging\/run-1/.test(e.message));
    const third = lock.run('/staging/run-1', new AbortController().signal, async () => events.push('third ran'));
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(events, ['stuck start'], 'nothing ran beside the stuck attempt');
    release();
    await stuck;
    await third;
    assert.deepEqual(events, ['stuck start', 'stuck end', 'third ran']);
    assert.equal(waits, 0, 'onWait ticks every second; the 100 ms wait had none');
  });

  test('cancelling the waiting attempt ends its wait with the cancellation', async () => {
    const lock = new StagingLock(5_000);
    const events: string[] = [];
    const first = lock.run('/staging/run-1', new AbortController().signal, async () => {
      await new Promise((r) => setTimeout(r, 300)); // ignores its signal
    });
    const cancel = new AbortController();
    const second = lock.run('/staging/run-1', cancel.signal, async () => events.push('second ran'));
    setTimeout(() => cancel.abort(new Error('activity cancelled')), 20);
    await assert.rejects(second, /activity cancelled/);
    await first;
    assert.deepEqual(events, []);
  });
});
