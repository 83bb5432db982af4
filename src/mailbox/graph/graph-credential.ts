import { readFileSync } from 'node:fs';
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from '@azure/identity';
import type { Config } from '../../config/config.ts';

/** The scope of an app-only token for Microsoft Graph. */
export const graphScope = 'https://graph.microsoft.com/.default';

/**
 * The credential chosen by GRAPH_AUTH. DefaultAzureCredential is deliberately not used: in production its chain
 * can silently pick up a developer's or a VM's identity instead of the one configured.
 */
export function createGraphCredential(config: Config): TokenCredential {
  switch (config.GRAPH_AUTH) {
    case 'managed-identity':
      return config.GRAPH_MANAGED_IDENTITY_CLIENT_ID
        ? new ManagedIdentityCredential({ clientId: config.GRAPH_MANAGED_IDENTITY_CLIENT_ID })
        : new ManagedIdentityCredential();
    case 'client-certificate': {
      const tenant = required(config.GRAPH_TENANT_ID, 'GRAPH_TENANT_ID');
      const client = required(config.GRAPH_CLIENT_ID, 'GRAPH_CLIENT_ID');
      const path = required(config.GRAPH_CERTIFICATE_PATH, 'GRAPH_CERTIFICATE_PATH');
      // Read once at start so a missing file fails fast instead of on the first token request.
      const certificate = readFileSync(path, 'utf8');
      return new ClientCertificateCredential(tenant, client, { certificate });
    }
    case 'client-secret':
      return new ClientSecretCredential(
        required(config.GRAPH_TENANT_ID, 'GRAPH_TENANT_ID'),
        required(config.GRAPH_CLIENT_ID, 'GRAPH_CLIENT_ID'),
        required(config.GRAPH_CLIENT_SECRET, 'GRAPH_CLIENT_SECRET'),
      );
  }
}

function required(value: string | null, name: string): string {
  if (!value) throw new Error(`${name} is required for GRAPH_AUTH`);
  return value;
}
