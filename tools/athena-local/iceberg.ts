/**
 * The Iceberg metadata file a seeded Iceberg table's `metadata_location` points at, served over a
 * path-style S3 GET (`GET /<bucket>/<key>`) so the source can read partition specs as it does from S3.
 * Format v2, with a few snapshots so the file is the size real ones start at.
 */
import { athenaTableParameters, type AthenaSeed, type SeedTable } from './model';

/** `day(ts)`, `bucket(16, id)`, `truncate(4, name)`, `region` (identity), as the seed writes a spec. */
function specField(text: string): { transform: string; column: string } {
  const m = /^\s*(\w+)\s*\(\s*(?:(\d+)\s*,\s*)?[`"]?(\w+)[`"]?\s*\)\s*$/.exec(text);
  if (!m) return { transform: 'identity', column: text.trim().replace(/^[`"]|[`"]$/g, '') };
  const [, fn, width, column] = m;
  return { transform: width ? `${fn!.toLowerCase()}[${width}]` : fn!.toLowerCase(), column: column! };
}

export function icebergMetadataFile(t: SeedTable): string {
  const columns = [...t.columns, ...t.partitionKeys];
  const ids = new Map(columns.map((c, i) => [c.name.toLowerCase(), i + 1]));
  const fields = (t.partitionSpec ?? []).map((text, i) => {
    const f = specField(text);
    return {
      name: `${f.column}_${f.transform.replace(/\[.*/, '')}`,
      transform: f.transform,
      'source-id': ids.get(f.column.toLowerCase()) ?? -1,
      'field-id': 1000 + i,
    };
  });
  const created = t.createTime.getTime();
  const snapshots = Array.from({ length: 5 }, (_, i) => ({
    'sequence-number': i + 1,
    'snapshot-id': 1000 + i,
    'timestamp-ms': created + i * 3_600_000,
    summary: { operation: 'append', 'added-data-files': '4', 'added-records': '1000', 'total-records': String(1000 * (i + 1)) },
    'manifest-list': `${t.location ?? 's3://lake/'}metadata/snap-${1000 + i}-1-${t.name}.avro`,
    'schema-id': 0,
  }));
  return JSON.stringify({
    'format-version': 2,
    'table-uuid': `00000000-0000-4000-8000-${String(t.name.length).padStart(12, '0')}`,
    location: (t.location ?? '').replace(/\/$/, ''),
    'last-sequence-number': snapshots.length,
    'last-updated-ms': created,
    'last-column-id': columns.length,
    'current-schema-id': 0,
    schemas: [
      {
        type: 'struct',
        'schema-id': 0,
        fields: columns.map((c, i) => ({ id: i + 1, name: c.name, required: false, type: c.type })),
      },
    ],
    'default-spec-id': 0,
    'partition-specs': [{ 'spec-id': 0, fields }],
    'last-partition-id': 999 + fields.length,
    'default-sort-order-id': 0,
    'sort-orders': [{ 'order-id': 0, fields: [] }],
    properties: { 'write.format.default': 'parquet' },
    'current-snapshot-id': 1000 + snapshots.length - 1,
    snapshots,
    'snapshot-log': snapshots.map((s) => ({ 'timestamp-ms': s['timestamp-ms'], 'snapshot-id': s['snapshot-id'] })),
  });
}

/** Finds seeded Iceberg tables by their metadata file's bucket and key; built on first use. */
export class IcebergFiles {
  private byLocation?: Map<string, SeedTable>;

  constructor(private readonly seed: AthenaSeed) {}

  get(bucket: string, key: string): SeedTable | undefined {
    const location = `s3://${bucket}/${key}`;
    // Tests move a table's metadata_location between runs: a miss rebuilds the index once.
    let t = (this.byLocation ??= this.index()).get(location);
    if (!t) t = (this.byLocation = this.index()).get(location);
    return t;
  }

  private index(): Map<string, SeedTable> {
    const map = new Map<string, SeedTable>();
    for (const c of this.seed.catalogs()) {
      for (const d of this.seed.databases(c.name) ?? []) {
        const n = this.seed.tableCount(c.name, d.name);
        for (let i = 0; i < n; i++) {
          const t = this.seed.tableAt(c.name, d.name, i);
          if (t.format !== 'iceberg') continue;
          const location = athenaTableParameters(t).metadata_location;
          if (location) map.set(location, t);
        }
      }
    }
    return map;
  }
}
