/** Connection and auth fields common to the azure-blob landing and HWM store, and their rules. */
import { z } from 'zod';
import { duration, secretRef } from '../../config/fields';
import { landingPrefix } from '../../landing/object-name';
import { endpointUrl } from '../object-store/endpoint-url';

/** Connection and auth fields common to the azure-blob landing and HWM store. */
export const azureConnectionFields = {
  /** Storage account name; the endpoint is https://<account>.blob.core.windows.net. */
  account: z
    .string()
    .regex(/^[a-z0-9]{3,24}$/, { message: 'must be a storage account name: 3-24 lower-case letters and digits' })
    .optional(),
  /** Full blob service URL instead of `account` (Azurite, sovereign clouds, private endpoints). */
  serviceUrl: endpointUrl().optional(),
  container: z.string().regex(/^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/, {
    message: 'must be a container name: 3-63 lower-case letters, digits and single dashes',
  }),
  path: landingPrefix(),
  /** A container or account SAS (without or with the leading `?`). */
  sasToken: secretRef().optional(),
  connectionString: secretRef().optional(),
  /** Microsoft Entra ID through DefaultAzureCredential (managed identity, workload identity, CLI...). */
  auth: z.literal('azure-ad').optional(),
  /** Client id of a user-assigned managed identity or workload identity (with auth: azure-ad). */
  clientId: z.string().min(1).optional(),
  /** Each request is abandoned and retried after this long (default 2m). */
  requestTimeout: duration().optional(),
  /** Retries per request for throttling, 5xx, resets and timeouts (default 5). */
  maxRetries: z.number().int().min(0).max(20).optional(),
};

export interface AzureConnectionConfig {
  account?: string | undefined;
  serviceUrl?: string | undefined;
  container: string;
  path: string;
  sasToken?: string | undefined;
  connectionString?: string | undefined;
  auth?: 'azure-ad' | undefined;
  clientId?: string | undefined;
  requestTimeout?: string | undefined;
  maxRetries?: number | undefined;
}

/** Exactly one way to authenticate and one way to name the endpoint. */
export function refineAzureConnection(cfg: AzureConnectionConfig, ctx: z.RefinementCtx): void {
  const auths = [cfg.sasToken && 'sasToken', cfg.connectionString && 'connectionString', cfg.auth && 'auth'].filter(Boolean);
  if (auths.length !== 1) {
    ctx.addIssue({
      code: 'custom',
      path: auths.length ? [String(auths[1])] : ['auth'],
      message: auths.length
        ? `give exactly one of sasToken, connectionString or auth: azure-ad (got ${auths.join(' and ')})`
        : 'required: one of sasToken, connectionString or auth: azure-ad',
    });
  }
  if (cfg.connectionString) {
    if (cfg.account || cfg.serviceUrl) {
      ctx.addIssue({
        code: 'custom',
        path: [cfg.account ? 'account' : 'serviceUrl'],
        message: 'the connection string already names the endpoint; remove this field',
      });
    }
  } else if (!cfg.account === !cfg.serviceUrl) {
    ctx.addIssue({
      code: 'custom',
      path: ['account'],
      message: cfg.account ? 'give account or serviceUrl, not both' : 'required: account (or serviceUrl)',
    });
  }
  if (cfg.clientId && cfg.auth !== 'azure-ad') {
    ctx.addIssue({ code: 'custom', path: ['clientId'], message: 'only used with auth: azure-ad' });
  }
}

/** An `azure-blob` block: the connection fields plus `extra`, strict, with the connection rules. */
export function azureBlobSchema<E extends z.ZodRawShape>(extra: E) {
  return (
    z
      .object({ type: z.literal('azure-blob'), ...azureConnectionFields, ...extra })
      .strict()
      // TypeScript cannot see through the generic `extra` that the connection fields are still there.
      .superRefine((cfg, ctx) => refineAzureConnection(cfg as AzureConnectionConfig, ctx))
  );
}
