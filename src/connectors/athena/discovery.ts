/**
 * Which catalogs, databases and workgroups a run covers, listed page by page (never all held at once).
 */
import {
  ListDatabasesCommand,
  ListDataCatalogsCommand,
  ListWorkGroupsCommand,
  type ListDatabasesCommandOutput,
  type ListDataCatalogsCommandOutput,
  type ListWorkGroupsCommandOutput,
} from '@aws-sdk/client-athena';
import type { AthenaSession } from './client';
import { DEFAULT_CATALOG } from './history';

/** A catalog as ListDataCatalogs describes it: `GLUE`, `LAMBDA`, `HIVE`, `FEDERATED`. */
export interface CatalogSummary {
  name: string;
  type: string;
}

/** Every catalog ListDataCatalogs returns. */
export async function* listCatalogs(session: AthenaSession, signal?: AbortSignal): AsyncGenerator<CatalogSummary> {
  for await (const page of session.pages<ListDataCatalogsCommandOutput>(
    'ListDataCatalogs',
    (token, o) => session.client.send(new ListDataCatalogsCommand({ MaxResults: 50, NextToken: token }), o),
    signal,
  )) {
    for (const c of page.DataCatalogsSummary ?? []) {
      // AwsDataCatalog is the account's Glue catalog, whatever an older answer left out.
      if (c.CatalogName) yield { name: c.CatalogName, type: c.Type ?? (c.CatalogName === DEFAULT_CATALOG ? 'GLUE' : 'UNKNOWN') };
    }
  }
}

/**
 * Catalogs read by default: the Glue Data Catalog kind. Any other (LAMBDA and HIVE connectors, FEDERATED
 * connections) answers through a connector: every ListTableMetadata invokes it (slow, billed, and it can
 * be down), so those are read only when listed in `catalogs`.
 */
export const isReadByDefault = (c: CatalogSummary): boolean => c.type === 'GLUE';

/** The configured catalogs, else the Glue ones; `skipped` hears of every catalog left out. */
export async function* catalogNames(
  session: AthenaSession,
  signal?: AbortSignal,
  skipped: (c: CatalogSummary) => void = () => undefined,
): AsyncGenerator<string> {
  if (session.config.catalogs) {
    yield* session.config.catalogs;
    return;
  }
  for await (const c of listCatalogs(session, signal)) {
    if (isReadByDefault(c)) yield c.name;
    else skipped(c);
  }
}

export async function* databaseNames(session: AthenaSession, catalog: string, signal?: AbortSignal): AsyncGenerator<string> {
  for await (const page of session.pages<ListDatabasesCommandOutput>(
    'ListDatabases',
    (token, o) => session.client.send(new ListDatabasesCommand({ CatalogName: catalog, MaxResults: 50, NextToken: token }), o),
    signal,
  )) {
    for (const d of page.DatabaseList ?? []) if (d.Name) yield d.Name;
  }
}

/** The configured workgroups, else every ENABLED one. */
export async function* workgroupNames(session: AthenaSession, signal?: AbortSignal): AsyncGenerator<string> {
  if (session.config.workgroups) yield* session.config.workgroups;
  else yield* enabledWorkgroups(session, signal);
}

/** Every ENABLED workgroup ListWorkGroups returns. */
export async function* enabledWorkgroups(session: AthenaSession, signal?: AbortSignal): AsyncGenerator<string> {
  for await (const page of session.pages<ListWorkGroupsCommandOutput>(
    'ListWorkGroups',
    (token, o) => session.client.send(new ListWorkGroupsCommand({ MaxResults: 50, NextToken: token }), o),
    signal,
  )) {
    for (const w of page.WorkGroups ?? []) if (w.Name && w.State !== 'DISABLED') yield w.Name;
  }
}
