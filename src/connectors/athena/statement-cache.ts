/**
 * What reading a statement gave, reused for the next execution of the same text in the run. Scheduled
 * dashboards and ETL jobs run the same SQL over and over; masking, tags, lineage and DDL classification
 * depend only on the text and its context (catalog, database, workgroup for EXECUTE), so an identical
 * statement is read once per run. Least recently used entries go first. The budget counts each text
 * twice over, for the text and for what was read from it (masked text, lineage edges, which grow with
 * it), and the entries: a window of thousands of distinct statements must not fill the heap with
 * readings that are never asked for again.
 * Per run only: lineage may include lookups (table columns, prepared statements) that a later run must
 * ask again.
 */
export class StatementCache<V> {
  private readonly entries = new Map<string, { value: V; size: number }>();
  private bytes = 0;
  hits = 0;

  constructor(
    private readonly maxBytes = 8 * 1024 * 1024,
    /** Texts longer than this are not kept: one would crowd out thousands of ordinary ones. */
    private readonly maxTextBytes = 256 * 1024,
    private readonly maxEntries = 2048,
  ) {}

  /** The cached value for `key`, else `compute()`'s, kept for next time. */
  get(key: string, compute: () => V): V {
    const found = this.entries.get(key);
    if (found) {
      // Refreshed: a Map iterates in insertion order, so the first entry is the least recently used.
      this.entries.delete(key);
      this.entries.set(key, found);
      this.hits++;
      return found.value;
    }
    const value = compute();
    // UTF-16 code units (two bytes a character, as V8 may hold them), for the text and its reading.
    if (key.length * 2 > this.maxTextBytes) return value;
    const size = key.length * 4 + 256;
    this.entries.set(key, { value, size });
    this.bytes += size;
    for (const [k, e] of this.entries) {
      if (this.bytes <= this.maxBytes && this.entries.size <= this.maxEntries) break;
      this.entries.delete(k);
      this.bytes -= e.size;
    }
    return value;
  }
}
