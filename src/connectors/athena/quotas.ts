/**
 * Client-side rate limits per Athena API. Athena's quotas are per account and region, so one set of
 * buckets is shared by every unit (and every collector) talking to the same account in this process.
 */
import { sleep } from './sleep';

export const ATHENA_OPERATIONS = [
  'ListDataCatalogs',
  'ListDatabases',
  'ListTableMetadata',
  'GetTableMetadata',
  'GetPreparedStatement',
  'ListWorkGroups',
  'GetWorkGroup',
  'ListQueryExecutions',
  'BatchGetQueryExecution',
  'StartQueryExecution',
  'GetQueryExecution',
  'GetQueryResults',
  'StopQueryExecution',
] as const;
export type AthenaOperation = (typeof ATHENA_OPERATIONS)[number];

export interface Quota {
  perSecond: number;
  burst: number;
}

/**
 * The documented per-account API call quotas (Athena User Guide, "Per account API call quotas"):
 * ListQueryExecutions 5/s burst 10, BatchGetQueryExecution 20/s burst 40, Start/StopQueryExecution 20/s
 * burst 80, GetQueryExecution/GetQueryResults 100/s burst 200. The catalog and workgroup APIs have no
 * documented or Service Quotas entry; observed behaviour is an adaptive limit that passes ~20/s from idle,
 * so they get 20/s burst 40 and rely on throttle retries beyond that.
 */
export const DEFAULT_QUOTAS: Record<AthenaOperation, Quota> = {
  ListDataCatalogs: { perSecond: 20, burst: 40 },
  ListDatabases: { perSecond: 20, burst: 40 },
  ListTableMetadata: { perSecond: 20, burst: 40 },
  GetTableMetadata: { perSecond: 20, burst: 40 },
  GetPreparedStatement: { perSecond: 20, burst: 40 },
  ListWorkGroups: { perSecond: 20, burst: 40 },
  GetWorkGroup: { perSecond: 20, burst: 40 },
  ListQueryExecutions: { perSecond: 5, burst: 10 },
  BatchGetQueryExecution: { perSecond: 20, burst: 40 },
  StartQueryExecution: { perSecond: 20, burst: 80 },
  StopQueryExecution: { perSecond: 20, burst: 80 },
  GetQueryExecution: { perSecond: 100, burst: 200 },
  GetQueryResults: { perSecond: 100, burst: 200 },
};

/** A token bucket whose waiters are served in arrival order. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly quota: Quota,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = quota.burst;
    this.last = this.now();
  }

  /** Resolves when one call may be made. */
  acquire(signal?: AbortSignal): Promise<void> {
    const turn = this.tail.then(() => this.take(signal));
    // A cancelled waiter must not block the ones behind it.
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  /** After a throttle the server's bucket is empty: stop everyone for a moment instead of hammering. */
  drain(): void {
    this.refill();
    this.tokens = Math.min(this.tokens, 0);
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.quota.burst, this.tokens + ((t - this.last) / 1000) * this.quota.perSecond);
    this.last = t;
  }

  private async take(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await sleep(Math.ceil(((1 - this.tokens) / this.quota.perSecond) * 1000), signal);
    }
  }
}

export type Limiters = Record<AthenaOperation, TokenBucket>;

const shared = new Map<string, Limiters>();

/**
 * The buckets for one account+region (`account`) and set of overrides, created on first use and shared by
 * every later caller with the same pair.
 */
export function limitersFor(account: string, overrides: Partial<Record<AthenaOperation, Partial<Quota>>> = {}): Limiters {
  const key = `${account}|${JSON.stringify(overrides)}`;
  let found = shared.get(key);
  if (!found) {
    const built = {} as Limiters;
    for (const op of ATHENA_OPERATIONS) built[op] = new TokenBucket({ ...DEFAULT_QUOTAS[op], ...overrides[op] });
    shared.set(key, built);
    found = built;
  }
  return found;
}
