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

export async function* catalogNames(session: AthenaSession, signal?: AbortSignal): AsyncGenerator<string> {
  if (session.config.catalogs) {
    yield* session.config.catalogs;
    return;
  }
  for await (const page of session.pages<ListDataCatalogsCommandOutput>(
    'ListDataCatalogs',
    (token, o) => session.client.send(new ListDataCatalogsCommand({ MaxResults: 50, NextToken: token }), o),
    signal,
  )) {
    for (const c of page.DataCatalogsSummary ?? []) if (c.CatalogName) yield c.CatalogName;
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
  if (session.config.workgroups) {
    yield* session.config.workgroups;
    return;
  }
  for await (const page of session.pages<ListWorkGroupsCommandOutput>(
    'ListWorkGroups',
    (token, o) => session.client.send(new ListWorkGroupsCommand({ MaxResults: 50, NextToken: token }), o),
    signal,
  )) {
    for (const w of page.WorkGroups ?? []) if (w.Name && w.State !== 'DISABLED') yield w.Name;
  }
}
