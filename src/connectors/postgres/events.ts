/**
 * `events` of one database: the DDL its event triggers recorded in the audit table whose script
 * docs/postgres.md gives (`collector_audit.ddl_events`, optional for the customer). PostgreSQL keeps no
 * history of DDL a collector could read otherwise. Rows are read by event time, [window start, end), like
 * every window, a page at a time; statement texts are masked like usage's. A database without the table
 * gives a warning naming the docs section (and `ddlEvents: false` to silence it), never a failure.
 */
import { parseSync } from 'libpg-query';
import type { ExtractContext, ExtractUnit } from '../../contracts/plugin';
import type { Row } from '../../contracts/extract-format';
import { errorMessage } from '../../contracts/errors';
import type { PostgresSessions } from './client';
import { loadPostgresParser, maskPostgresText } from './sql-text';

export const AUDIT_TABLE = 'collector_audit.ddl_events';
const PAGE = 1000;

export function eventsUnitKey(database: string): string {
  return `events:${database}`;
}

interface AuditRow {
  id: string;
  event_time: Date;
  command_tag: string;
  object_type: string | null;
  schema_name: string | null;
  object_identity: string | null;
  statement: string | null;
  user_name: string;
}

/** The trigger's object types this extract speaks of, as the format names them; others are not catalog changes. */
const KINDS: Record<string, string> = {
  table: 'TABLE',
  // ALTER TABLE ... RENAME COLUMN is reported on the column (identity schema.table.column).
  'table column': 'TABLE',
  'foreign table': 'TABLE',
  view: 'VIEW',
  'materialized view': 'MATERIALIZED_VIEW',
  schema: 'DATABASE',
};

export function eventsUnit(s: PostgresSessions, ctx: ExtractContext, database: string, keep: (schema: string) => boolean): ExtractUnit {
  return {
    key: eventsUnitKey(database),
    async run(out) {
      if (!(await auditTablePresent(s, ctx, database))) return;
      await loadPostgresParser();
      let after = '0';
      for (;;) {
        const rows = await s.query<AuditRow>(
          database,
          'read DDL events',
          `SELECT id::text AS id, event_time, command_tag, object_type, schema_name, object_identity, statement, user_name::text AS user_name
             FROM ${AUDIT_TABLE}
            WHERE event_time >= $1 AND event_time < $2 AND id > $3::int8
            ORDER BY ddl_events.id LIMIT ${PAGE}`,
          [ctx.window.start, ctx.window.end, after],
          ctx.signal,
        );
        for (const r of rows) {
          const row = eventRow(database, r, keep);
          if (row === undefined) ctx.count('ddl_events_other');
          else if (row !== null) await out.write('events', row);
        }
        if (rows.length < PAGE) break;
        after = rows[rows.length - 1]!.id;
      }
    },
  };
}

async function auditTablePresent(s: PostgresSessions, ctx: ExtractContext, database: string): Promise<boolean> {
  try {
    const [r] = await s.query<{ present: boolean; readable: boolean | null }>(
      database,
      'find the DDL audit table',
      `SELECT to_regclass($1) IS NOT NULL AS present,
              CASE WHEN to_regclass($1) IS NULL THEN NULL ELSE has_table_privilege(to_regclass($1), 'SELECT') END AS readable`,
      [AUDIT_TABLE],
      ctx.signal,
    );
    if (r!.present && r!.readable) return true;
    ctx.count('ddl_events_unavailable');
    ctx.warn(
      r!.present
        ? `database ${database}: no DDL events, ${s.config.user} may not read ${AUDIT_TABLE}: GRANT USAGE ON SCHEMA collector_audit, SELECT ON ${AUDIT_TABLE} TO ${s.config.user}`
        : `database ${database}: no DDL events, ${AUDIT_TABLE} is not installed (docs/postgres.md, "DDL events"; ddlEvents: false stops this warning)`,
    );
    return false;
  } catch (e) {
    // No USAGE on the audit schema: to_regclass itself is refused.
    ctx.count('ddl_events_unavailable');
    ctx.warn(`database ${database}: no DDL events (${errorMessage(e)}): GRANT USAGE ON SCHEMA collector_audit TO ${s.config.user}`);
    return false;
  }
}

/** The events row of one audit row; null when its schema is not read; undefined when it is no catalog change. */
function eventRow(database: string, r: AuditRow, keep: (schema: string) => boolean): Row | null | undefined {
  const kind = KINDS[r.object_type ?? ''];
  const verb = /^(CREATE|ALTER|DROP|COMMENT|SELECT INTO)\b/.exec(r.command_tag)?.[1];
  if (!kind || !verb) return undefined;
  const schema = kind === 'DATABASE' ? identityParts(r.object_identity)[0] : (r.schema_name ?? undefined);
  if (schema !== undefined && !keep(schema)) return null;
  const parts = identityParts(r.object_identity);
  const name = kind === 'DATABASE' ? null : ((r.object_type === 'table column' ? parts.at(-2) : parts.at(-1)) ?? null);
  let eventType =
    r.command_tag === 'CREATE TABLE AS' || r.command_tag === 'SELECT INTO'
      ? 'CREATE_TABLE_AS_SELECT'
      : `${verb === 'COMMENT' ? 'ALTER' : verb}_${kind}`;
  const rename = eventType.startsWith('ALTER_') && r.statement && name ? renameOf(r.statement, name) : undefined;
  if (rename) eventType = rename.eventType;
  return {
    event_time: r.event_time,
    event_type: eventType,
    object_type: kind,
    catalog: database,
    database: rename?.schema ?? schema ?? null,
    object_name: rename?.oldName ?? name,
    query_id: `${AUDIT_TABLE}:${r.id}`,
    state: 'SUCCEEDED',
    workgroup: null,
    user_name: r.user_name,
    query_text: r.statement === null ? null : maskPostgresText(r.statement),
    new_catalog: rename?.newName ? database : null,
    new_database: rename?.newName ? (rename.schema ?? schema ?? null) : null,
    new_object_name: rename?.newName ?? null,
    column_name: rename?.oldColumn ?? null,
    new_column_name: rename?.newColumn ?? null,
  };
}

interface Rename {
  eventType: string;
  schema?: string;
  oldName: string;
  newName?: string;
  oldColumn?: string;
  newColumn?: string;
}

/**
 * At ddl_command_end the trigger sees the object under its new name only; the statement says the old one.
 * `current_query()` is the whole text the client sent, possibly several statements: the rename is read
 * when it is the only statement of the text that alters this object; otherwise the event stays an ALTER.
 */
function renameOf(statement: string, objectName: string): Rename | undefined {
  let stmts: { stmt?: Record<string, unknown> }[];
  try {
    stmts = (parseSync(statement) as { stmts?: typeof stmts }).stmts ?? [];
  } catch {
    return undefined;
  }
  // Statements of the text that alter this object (by its old or new name): a rename is told only when it
  // is the one, so an ADD COLUMN sent in the same text as a RENAME COLUMN is not taken for it.
  const touching = stmts
    .map((s) => s.stmt ?? {})
    .filter((st) => {
      const rename = st.RenameStmt as { relation?: { relname?: string }; newname?: unknown } | undefined;
      const alter = st.AlterTableStmt as { relation?: { relname?: string } } | undefined;
      return rename ? rename.relation?.relname === objectName || rename.newname === objectName : alter?.relation?.relname === objectName;
    });
  const candidates = touching.length === 1 && touching[0]!.RenameStmt ? [touching[0]!.RenameStmt as Record<string, unknown>] : [];
  if (candidates.length !== 1) return undefined;
  const r = candidates[0]!;
  const rel = r.relation as { schemaname?: string; relname?: string } | undefined;
  if (!rel?.relname || typeof r.newname !== 'string') return undefined;
  const base = { ...(rel.schemaname ? { schema: rel.schemaname } : {}), oldName: rel.relname };
  switch (r.renameType) {
    case 'OBJECT_TABLE':
    case 'OBJECT_FOREIGN_TABLE':
      return { eventType: 'RENAME_TABLE', ...base, newName: r.newname };
    case 'OBJECT_VIEW':
    case 'OBJECT_MATVIEW':
      return { eventType: 'RENAME_VIEW', ...base, newName: r.newname };
    case 'OBJECT_COLUMN':
      return typeof r.subname === 'string'
        ? { eventType: 'RENAME_COLUMN', ...base, oldColumn: r.subname, newColumn: r.newname }
        : undefined;
    default:
      return undefined;
  }
}

/** `sales.orders`, `"Sales"."Order ""x"""`: the parts of an object identity as the server quotes them. */
function identityParts(identity: string | null): string[] {
  if (!identity) return [];
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < identity.length; i++) {
    const ch = identity[i]!;
    if (quoted) {
      if (ch === '"' && identity[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === '.') {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}
