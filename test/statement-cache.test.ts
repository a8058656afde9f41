/** The per-run cache of statement readings: one reading per text, least recently used out first, bounded. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StatementCache } from '../src/connectors/athena/statement-cache';

describe('StatementCache', () => {
  it('computes a text once, then hands back the same value', () => {
    const cache = new StatementCache<{ n: number }>();
    let computed = 0;
    const a = cache.get('SELECT 1', () => ({ n: ++computed }));
    const b = cache.get('SELECT 1', () => ({ n: ++computed }));
    assert.equal(a, b);
    assert.equal(computed, 1);
    assert.equal(cache.hits, 1);
    assert.equal(cache.get('SELECT 2', () => ({ n: ++computed })).n, 2);
  });

  it('evicts the least recently used entries past its byte budget', () => {
    // Each 100-character key counts 4 x 100 + 256 bytes: three fit in 2000, four do not.
    const cache = new StatementCache<number>(2000);
    const key = (c: string) => c.repeat(100);
    let computed = 0;
    for (const c of ['a', 'b', 'c']) cache.get(key(c), () => ++computed);
    cache.get(key('a'), () => ++computed); // a is now the most recent
    cache.get(key('d'), () => ++computed); // b goes
    assert.equal(computed, 4);
    cache.get(key('a'), () => ++computed);
    cache.get(key('c'), () => ++computed);
    assert.equal(computed, 4, 'a and c kept');
    cache.get(key('b'), () => ++computed);
    assert.equal(computed, 5, 'b was evicted');
  });

  it('keeps at most maxEntries entries', () => {
    const cache = new StatementCache<number>(1 << 20, 1 << 20, 2);
    let computed = 0;
    for (const k of ['a', 'b', 'c', 'a']) cache.get(k, () => ++computed);
    assert.equal(computed, 4, 'a was evicted by c');
  });

  it('does not keep a text larger than its per-text bound', () => {
    const cache = new StatementCache<number>(1 << 20, 1000);
    let computed = 0;
    cache.get('x'.repeat(600), () => ++computed);
    cache.get('x'.repeat(600), () => ++computed);
    assert.equal(computed, 2);
  });
});
