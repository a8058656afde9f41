/**
 * The history unit of one workgroup: the window's query executions as `databaselog` rows, the lineage of
 * the writes among them, and their DDL as `events`.
 *
 * ListQueryExecutions has no time filter and is only roughly newest-first, so pages are read until one
 * lies entirely before window start minus `historyMargin`; each execution is then kept only when its
 * SubmissionDateTime is in [window.start, window.end), which makes consecutive windows tile exactly.
 *
 * An execution of the window still QUEUED or RUNNING has no outcome, statistics or lineage yet, and later
 * windows will not list it again (it was submitted in this one). So it is not written now: its id is kept
 * in the source's cursor (committed with the HWM) and re-read with BatchGetQueryExecution by every later
 * run until it has finished or Athena no longer has it; the run that sees it finish writes its row,
 * lineage and DDL event, once.
 */
import {
  BatchGetQueryExecutionCommand,
  ListQueryExecutionsCommand,
  type ListQueryExecutionsCommandOutput,
  type QueryExecution,
  type UnprocessedQueryExecutionId,
} from '@aws-sdk/client-athena';
import { TransientError } from '../../contracts/errors';
import type { ExtractContext, ExtractUnit, UnitOutput } from '../../contracts/plugin';
import { parseDuration } from '../../run/duration';
import type { AthenaSession } from './client';
import { writeLineage } from './lineage';
import { LineageLookups } from './lineage-lookups';
import { StatementCache } from './statement-cache';
import { isOwnQuery } from './query';
import { sleep } from './sleep';
import { classifyStatement, extractLineage, maskLiterals, queryTags, type LineageResult } from '../../sql/index';

export const historyUnitKey = (workgroup: string) => `history:${workgroup}`;
/** The cursor entry of a workgroup's executions that were still running when a run read them. */
export const inFlightCursorKey = (workgroup: string) => `athena.in-flight:${workgroup}`;
/** More than this many unfinished executions in one workgroup are written as they are, not carried. */
const MAX_CARRIED = 5000;
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Athena's answer for an id it cannot return at all (as opposed to INTERNAL_ERROR, worth a retry). */
const isPermanentlyUnavailable = (u: UnprocessedQueryExecutionId): boolean => /^INVALID|NOT_?FOUND/i.test(u.ErrorCode ?? '');

/** Athena's default catalog, which history omits when a query ran in it. */
export const DEFAULT_CATALOG = 'AwsDataCatalog';

export function historyUnit(session: AthenaSession, ctx: ExtractContext, workgroup: string): ExtractUnit {
  return {
    key: historyUnitKey(workgroup),
    run: (out) => new WorkgroupHistory(session, ctx, workgroup, out).run(),
  };
}

/**
 * Statements that may write a table or view (the only ones worth parsing for lineage); UPDATE and DELETE
 * count when a subquery feeds them, EXECUTE when the prepared statement it runs writes.
 */
const WRITE_START = /^(CREATE|INSERT|MERGE|UNLOAD|UPDATE|DELETE|EXECUTE)$/i;
/** Statements that may change the catalog (worth classifying as events). */
const DDL_START = /^(CREATE|DROP|ALTER|MSCK)$/i;

/** The first keyword of `sql`, past leading comments, whitespace and parentheses. */
function firstKeyword(sql: string): string {
  let s = sql;
  for (;;) {
    const t = s.replace(/^[\s(]+/, '');
    if (t.startsWith('--')) {
      const nl = t.indexOf('\n');
      s = nl < 0 ? '' : t.slice(nl + 1);
    } else if (t.startsWith('/*')) {
      const close = t.indexOf('*/', 2);
      s = close < 0 ? '' : t.slice(close + 2);
    } else return /^[A-Za-z]+/.exec(t)?.[0]?.toUpperCase() ?? '';
  }
}

/** What one statement text gave in its context; lineage and the event are read only when needed. */
interface StatementReading {
  shown: string | null;
  /** Why masking failed (the text is left out, counted per execution). */
  unmaskable?: string;
  tags: string | null;
  tagsDropped: number;
  lineage?: Promise<LineageResult>;
  event?: { value: ReturnType<typeof classifyStatement> } | { unparseable: true };
}

/** One cache per run (per session): the workgroups' units share it. */
const readings = new WeakMap<AthenaSession, StatementCache<StatementReading>>();

class WorkgroupHistory {
  private readonly start: number;
  private readonly end: number;
  private readonly userName: string;
  private readonly lookups: LineageLookups;
  private readonly cache: StatementCache<StatementReading>;

  constructor(
    private readonly session: AthenaSession,
    private readonly ctx: ExtractContext,
    private readonly workgroup: string,
    private readonly out: UnitOutput,
  ) {
    this.start = Date.parse(ctx.window.start);
    this.end = Date.parse(ctx.window.end);
    this.userName = `athena_workgroup_${workgroup}`;
    this.lookups = new LineageLookups(session, ctx, workgroup);
    let cache = readings.get(session);
    if (!cache) readings.set(session, (cache = new StatementCache()));
    this.cache = cache;
  }

  async run(): Promise<void> {
    const { session, ctx } = this;
    const stopBefore = this.start - (parseDuration(session.config.historyMargin) ?? 3_600_000);
    // Listing can shift under new queries and repeat an id across pages; emit each once.
    const seen = new Set<string>();
    const unfinished: string[] = [];
    await this.finishCarried(seen, unfinished);
    const list = (token: string | undefined) => {
      const p = session.call(
        'ListQueryExecutions',
        (o) => session.client.send(new ListQueryExecutionsCommand({ WorkGroup: this.workgroup, MaxResults: 50, NextToken: token }), o),
        ctx.signal,
      );
      p.catch(() => undefined); // awaited below; this only keeps an early exit from leaving it unhandled
      return p;
    };
    let next: Promise<ListQueryExecutionsCommandOutput> | undefined = list(undefined);
    while (next) {
      const page: ListQueryExecutionsCommandOutput = await next;
      next = undefined;
      const ids = page.QueryExecutionIds ?? [];
      const executions = ids.length ? await this.batchGet(ids) : [];
      const wholePageOld =
        executions.length > 0 && executions.every((q) => (q.Status?.SubmissionDateTime?.getTime() ?? Infinity) < stopBefore);
      // ListQueryExecutions has the tightest quota (5/s): ask for the next page only once we know we need
      // it, but before writing this page's rows, so the two overlap.
      if (!wholePageOld && page.NextToken) next = list(page.NextToken);
      for (const q of executions) {
        const submitted = q.Status?.SubmissionDateTime;
        const t = submitted?.getTime();
        if (t === undefined || t < this.start || t >= this.end) continue;
        const id = q.QueryExecutionId;
        if (!id || seen.has(id)) continue;
        seen.add(id);
        if (this.isOwn(q)) continue;
        if (!TERMINAL.has(q.Status?.State ?? '') && unfinished.length < MAX_CARRIED) {
          unfinished.push(id);
          ctx.count('athena_executions_in_flight');
          continue;
        }
        await this.writeExecution(q, submitted!);
      }
    }
    if (unfinished.length >= MAX_CARRIED) {
      ctx.warn(
        `workgroup ${this.workgroup}: more than ${MAX_CARRIED} query executions were unfinished; the rest were written as they were`,
      );
    }
    this.out.setCursor(inFlightCursorKey(this.workgroup), unfinished.length ? unfinished : null);
  }

  /**
   * Executions earlier runs saw unfinished: those finished now are written (with their own submission
   * time, in this run's files); those still running stay carried; those Athena no longer returns are
   * dropped, counted by batchGet.
   */
  private async finishCarried(seen: Set<string>, unfinished: string[]): Promise<void> {
    const carried = this.ctx.cursor.get(inFlightCursorKey(this.workgroup));
    const ids = Array.isArray(carried) ? carried.filter((v): v is string => typeof v === 'string') : [];
    for (let i = 0; i < ids.length; i += 50) {
      for (const q of await this.batchGet(ids.slice(i, i + 50))) {
        const id = q.QueryExecutionId;
        const submitted = q.Status?.SubmissionDateTime;
        if (!id || !submitted || seen.has(id)) continue;
        seen.add(id);
        if (TERMINAL.has(q.Status?.State ?? '')) {
          this.ctx.count('athena_executions_finished_late');
          await this.writeExecution(q, submitted);
        } else unfinished.push(id);
      }
    }
  }

  /** The collector's own queries (information_schema, SELECT 1) are not the account's usage: left out, counted. */
  private isOwn(q: QueryExecution): boolean {
    if (!isOwnQuery(q.Query ?? '')) return false;
    this.ctx.count('athena_own_queries_skipped');
    return true;
  }

  /**
   * BatchGetQueryExecution for up to 50 ids, retrying unprocessed ids with backoff, bounded. An id Athena
   * calls invalid (it aged out of the 45-day history, or was never valid) is skipped, counted and warned
   * about: no retry brings it back, and failing on it would stop every later run at the same window.
   */
  private async batchGet(ids: string[]): Promise<QueryExecution[]> {
    const { session, ctx } = this;
    const found: QueryExecution[] = [];
    let pending = ids;
    for (let attempt = 1; pending.length; attempt++) {
      const batch = pending;
      const res = await session.call(
        'BatchGetQueryExecution',
        (o) => session.client.send(new BatchGetQueryExecutionCommand({ QueryExecutionIds: batch }), o),
        ctx.signal,
      );
      found.push(...(res.QueryExecutions ?? []));
      const unprocessed: UnprocessedQueryExecutionId[] = [];
      const gone: UnprocessedQueryExecutionId[] = [];
      for (const u of res.UnprocessedQueryExecutionIds ?? []) (isPermanentlyUnavailable(u) ? gone : unprocessed).push(u);
      if (gone.length) {
        ctx.count('athena_executions_unavailable', gone.length);
        ctx.warn(
          `query executions of workgroup ${this.workgroup} that Athena no longer returns were skipped (${gone[0]!.ErrorCode}); see the athena_executions_unavailable counter`,
        );
      }
      pending = unprocessed.map((u) => u.QueryExecutionId).filter((id): id is string => Boolean(id));
      if (!pending.length) break;
      if (attempt >= session.retry.maxAttempts) {
        const first = unprocessed[0];
        throw new TransientError(
          `Athena left ${pending.length} query execution(s) of workgroup ${this.workgroup} unprocessed after ${attempt} attempts (${first?.ErrorCode ?? 'no code'}: ${first?.ErrorMessage ?? 'no message'})`,
          { operation: 'BatchGetQueryExecution', workgroup: this.workgroup },
        );
      }
      session.report('BatchGetQueryExecution', 'retry');
      await sleep(session.backoff(attempt), ctx.signal);
    }
    return found;
  }

  private async writeExecution(q: QueryExecution, submitted: Date): Promise<void> {
    const { ctx, out } = this;
    const id = q.QueryExecutionId!;
    const text = q.Query ?? '';
    const status = q.Status;
    const state = status?.State ?? 'UNKNOWN';
    // Lower-cased like every name, and the default catalog named when history omits it, so the row
    // says what the query's linkages and events say.
    const catalog = (q.QueryExecutionContext?.Catalog || DEFAULT_CATALOG).toLowerCase();
    const database = q.QueryExecutionContext?.Database?.toLowerCase() || null;
    const stats = q.Statistics;
    const when = status?.CompletionDateTime ?? submitted;
    // EXECUTE resolves a prepared statement of the workgroup: the workgroup is part of the context.
    const reading = this.cache.get(`${catalog}\u0000${database ?? ''}\u0000${this.workgroup}\u0000${text}`, () => this.read(text));
    const shown = reading.shown;
    if (reading.unmaskable !== undefined) {
      ctx.count('unmaskable_statements');
      ctx.log.debug({ queryId: id, err: reading.unmaskable }, 'query text not masked; left out');
    }
    if (reading.tagsDropped) ctx.count('query_tags_dropped', reading.tagsDropped);
    ctx.count('athena_query_executions');

    await out.write('databaselog', {
      query_id: id,
      query_text: shown,
      statement_type: q.StatementType ?? null,
      state,
      error_message: this.shownError(
        status?.AthenaError?.ErrorMessage ?? (state === 'SUCCEEDED' ? null : (status?.StateChangeReason ?? null)),
      ),
      catalog,
      database,
      submission_time: submitted,
      completion_time: status?.CompletionDateTime ?? null,
      data_scanned_bytes: stats?.DataScannedInBytes ?? null,
      engine_execution_ms: stats?.EngineExecutionTimeInMillis ?? null,
      queue_ms: stats?.QueryQueueTimeInMillis ?? null,
      planning_ms: stats?.QueryPlanningTimeInMillis ?? null,
      total_execution_ms: stats?.TotalExecutionTimeInMillis ?? null,
      workgroup: this.workgroup,
      user_name: this.userName,
      query_tags: reading.tags,
    });

    const keyword = firstKeyword(text);
    const context = { catalog, database: database ?? 'default', dialect: 'athena' as const };
    if (state === 'SUCCEEDED' && WRITE_START.test(keyword)) {
      // Lineage needs real identifiers, so masking never applies here (literals carry no table names anyway).
      reading.lineage ??= this.lookups.lineage((options) => safely(() => extractLineage(text, context, options)));
      await writeLineage(out, ctx, await reading.lineage, {
        origin: 'QUERY',
        queryId: id,
        observedAt: when,
      });
    }
    if (q.StatementType === 'DDL' || DDL_START.test(keyword)) {
      if (!reading.event) {
        try {
          reading.event = { value: classifyStatement(text, context) };
        } catch {
          reading.event = { unparseable: true };
        }
      }
      let event: ReturnType<typeof classifyStatement> | undefined;
      if ('value' in reading.event) event = reading.event.value;
      else ctx.count('unparseable_statements');
      // DDL with no change event (CREATE FUNCTION, a DROP TABLE without a name...): counted, not dropped silently.
      if (event === null) ctx.count('ddl_without_event');
      else if (event) {
        await out.write('events', {
          event_time: when,
          event_type: event.eventType,
          object_type: event.objectType,
          catalog: event.object.catalog,
          database: event.object.database,
          object_name: event.object.name,
          query_id: id,
          state,
          workgroup: this.workgroup,
          user_name: this.userName,
          query_text: shown,
          new_catalog: event.renamedTo?.catalog ?? null,
          new_database: event.renamedTo?.database ?? null,
          new_object_name: event.renamedTo?.name ?? null,
          column_name: event.renamedColumn?.from ?? null,
          new_column_name: event.renamedColumn?.to ?? null,
        });
      }
    }
  }

  /**
   * The text as written to the extract (masked unless `mask: false`; never unmasked by accident) and the
   * dbt/Looker/sqlcommenter tags, kept apart from the text, whose comments masking drops (a JSON array,
   * null when none; what does not fit the bound is counted).
   */
  private read(text: string): StatementReading {
    const { tags, dropped } = queryTags(text, 'athena');
    const reading: StatementReading = { shown: text, tags: tags.length ? JSON.stringify(tags) : null, tagsDropped: dropped };
    if (this.session.config.mask) {
      try {
        reading.shown = maskLiterals(text, 'athena');
      } catch (err) {
        reading.shown = null;
        reading.unmaskable = (err as Error).message;
      }
    }
    return reading;
  }

  /** Engine errors quote the values they choke on ("Cannot cast 'alice@…'"): masked like the query. */
  private shownError(message: string | null): string | null {
    if (message === null || !this.session.config.mask) return message;
    try {
      return maskLiterals(message, 'athena');
    } catch {
      return null; // not even tokenizable: left out rather than shown unmasked
    }
  }
}

function safely(parse: () => ReturnType<typeof extractLineage>): ReturnType<typeof extractLineage> {
  try {
    return parse();
  } catch (err) {
    return { kind: 'unparseable', reason: (err as Error).message };
  }
}
