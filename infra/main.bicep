// Email Connector: production infrastructure on Azure App Service (Linux, Node 22).
// Deploy into an existing resource group:  az deployment group create -g <rg> -f infra/main.bicep -p @params.json
// Steps, permissions and operations: infra/README.md.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------------------------------------------

@description('Azure region of every resource.')
param location string = resourceGroup().location

@description('Web app name; also the host name <appName>.azurewebsites.net, so it must be globally unique. The plan, workspace and Application Insights names add a suffix to it.')
@minLength(2)
@maxLength(55)
param appName string = 'email-connector-${uniqueString(resourceGroup().id)}'

@description('Key Vault name (3-24 characters, globally unique).')
@minLength(3)
@maxLength(24)
param keyVaultName string = 'kv-ec-${uniqueString(resourceGroup().id)}'

@description('App Service plan SKU. Always On needs Basic (B1) or above, so Free and Shared are not offered.')
@allowed([
  'B1'
  'B2'
  'B3'
  'S1'
  'S2'
  'S3'
  'P0v3'
  'P1v3'
  'P2v3'
  'P3v3'
])
param appServicePlanSku string = 'B1'

@description('SUPPORT_ADDRESS: the public support address the connector serves.')
param supportAddress string

@description('INTERNAL_SUPPORT_ADDRESS: where undecidable mail, errors and customer replies go. Must differ from supportAddress.')
param internalSupportAddress string

@description('SUPPORT_MAILBOX: UPN or object id of the Exchange Online mailbox to watch. Empty = supportAddress.')
param supportMailbox string = ''

@description('GRAPH_TENANT_ID: the Entra tenant of the mailbox and of the managed identity.')
param graphTenantId string = tenant().tenantId

@description('GRAPH_CLIENT_ID. With GRAPH_AUTH=managed-identity the code does not use it (the system-assigned identity signs in); it is set for the record. Empty = the application (client) id of the web app\'s own system-assigned identity, which is the id Graph and Exchange see.')
param graphClientId string = ''

@description('PUBLIC_BASE_URL: the HTTPS address Graph calls. Empty = https://<default host name>. Set it when a custom domain fronts the app.')
param publicBaseUrl string = ''

@description('GRAPH_CLIENT_STATE: random secret sent back by Graph in every notification (at most 128 characters), e.g. openssl rand -base64 48. Stored in Key Vault.')
@secure()
@minLength(16)
@maxLength(128)
param graphClientState string

@description('XML_API_PASSWORD: password every XML API transaction must carry. Stored in Key Vault. Empty = the XML API stays off (and no secret is created).')
@secure()
param xmlApiPassword string = ''

@description('XML_API_ENABLED: treat mails carrying a CommitCRMTransaction as API calls. Takes effect only with xmlApiPassword: the service refuses to start with an API that has no password.')
param xmlApiEnabled bool = true

@description('DATABASE_URL. Only sqlite:<path> is supported; /home is the persistent storage of App Service on Linux.')
param databaseUrl string = 'sqlite:/home/data/crm.sqlite'

@description('LOG_LEVEL of the service.')
@allowed([
  'fatal'
  'error'
  'warn'
  'info'
  'debug'
  'trace'
  'silent'
])
param logLevel string = 'info'

@description('Turn on the Application Insights agent for Node.js (requests, dependencies, exceptions) without code changes.')
param enableApplicationInsightsAgent bool = true

@description('Further app settings (name: string value), e.g. RULES_FILE, AUTO_ACK, TICKET_TAG_PREFIX. They override the settings above.')
param additionalAppSettings object = {}

@description('Enable Key Vault purge protection (recommended for production; it cannot be turned off again).')
param keyVaultPurgeProtection bool = true

@description('Days the Log Analytics workspace keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

@description('Tags applied to every resource.')
param tags object = {
  application: 'email-connector'
}

// ---------------------------------------------------------------------------------------------------------------
// Names and constants
// ---------------------------------------------------------------------------------------------------------------

var planName = '${appName}-plan'
var workspaceName = '${appName}-logs'
var appInsightsName = '${appName}-ai'

// Built-in role "Key Vault Secrets User": read secret contents.
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

var graphClientStateSecretName = 'graph-client-state'
var xmlApiPasswordSecretName = 'xml-api-password'
var hasXmlApiPassword = !empty(xmlApiPassword)

// ---------------------------------------------------------------------------------------------------------------
// Monitoring: Log Analytics + workspace-based Application Insights
// ---------------------------------------------------------------------------------------------------------------

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: appInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Key Vault (RBAC authorization) with the remaining secrets
// ---------------------------------------------------------------------------------------------------------------

var vaultProperties = {
  tenantId: tenant().tenantId
  sku: {
    family: 'A'
    name: 'standard'
  }
  enableRbacAuthorization: true
  enableSoftDelete: true
  softDeleteRetentionInDays: 90
  publicNetworkAccess: 'Enabled'
}

// Purge protection cannot be set to false explicitly once it is on, so the property is left out unless wanted.
var purgeProtection = keyVaultPurgeProtection ? {
  enablePurgeProtection: true
} : {}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  tags: tags
  properties: union(vaultProperties, purgeProtection)
}

resource graphClientStateSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: graphClientStateSecretName
  properties: {
    value: graphClientState
    contentType: 'text/plain'
  }
}

resource xmlApiPasswordSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (hasXmlApiPassword) {
  parent: vault
  name: xmlApiPasswordSecretName
  properties: {
    value: xmlApiPassword
    contentType: 'text/plain'
  }
}

// ---------------------------------------------------------------------------------------------------------------
// App Service plan and web app
// ---------------------------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'linux'
  sku: {
    name: appServicePlanSku
  }
  properties: {
    // Required for a Linux plan.
    reserved: true
  }
}

resource webApp 'Microsoft.Web/sites@2023-12-01' = {
  name: appName
  location: location
  tags: tags
  kind: 'app,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    siteConfig: {
      linuxFxVersion: 'NODE|22-lts'
      // The deployed zip holds dist/ (npm run build) and production node_modules; nothing is built on the server.
      appCommandLine: 'node dist/main.js'
      // Renewal and delta timers stop if an idle app unloads.
      alwaysOn: true
      healthCheckPath: '/healthz'
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
  }
}

// The system-assigned identity as a resource of its own: the only place ARM exposes its client (application) id.
resource webAppIdentity 'Microsoft.ManagedIdentity/identities@2023-01-31' existing = {
  scope: webApp
  name: 'default'
}

// Lets the web app's identity read the secrets (Key Vault references in the app settings).
resource secretsUserAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, webApp.id, keyVaultSecretsUserRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: webApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

var effectivePublicBaseUrl = empty(publicBaseUrl) ? 'https://${webApp.properties.defaultHostName}' : publicBaseUrl

var baseAppSettings = {
  // --- core ---
  SUPPORT_ADDRESS: supportAddress
  INTERNAL_SUPPORT_ADDRESS: internalSupportAddress
  DATABASE_URL: databaseUrl
  LOG_LEVEL: logLevel
  XML_API_ENABLED: xmlApiEnabled && hasXmlApiPassword ? 'true' : 'false'
  // --- Microsoft Graph with the system-assigned managed identity ---
  SUPPORT_MAILBOX: empty(supportMailbox) ? supportAddress : supportMailbox
  GRAPH_AUTH: 'managed-identity'
  GRAPH_TENANT_ID: graphTenantId
  GRAPH_CLIENT_ID: empty(graphClientId) ? webAppIdentity.properties.clientId : graphClientId
  PUBLIC_BASE_URL: effectivePublicBaseUrl
  GRAPH_CLIENT_STATE: '@Microsoft.KeyVault(SecretUri=${graphClientStateSecret.properties.secretUri})'
  // --- monitoring ---
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  // --- App Service platform ---
  // Keep /home (the database under /home/data) mounted as persistent storage.
  WEBSITES_ENABLE_APP_SERVICE_STORAGE: 'true'
  // The zip is already built; no Oryx build (npm install) on the server.
  SCM_DO_BUILD_DURING_DEPLOYMENT: 'false'
}

// vaultUri ends with '/'. Built from the vault, not from the conditional secret, so it is never a null reference.
var xmlApiPasswordSettings = hasXmlApiPassword ? {
  XML_API_PASSWORD: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/${xmlApiPasswordSecretName})'
} : {}

var agentSettings = enableApplicationInsightsAgent ? {
  ApplicationInsightsAgent_EXTENSION_VERSION: '~3'
} : {}

// A separate resource (not siteConfig.appSettings) because GRAPH_CLIENT_ID and PUBLIC_BASE_URL come from the site
// itself, and so that the Key Vault role assignment exists before the app first resolves its references.
// Note: this replaces every app setting on each deployment; settings added in the portal are lost.
resource appSettings 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: webApp
  name: 'appsettings'
  properties: union(baseAppSettings, xmlApiPasswordSettings, agentSettings, additionalAppSettings)
  dependsOn: [
    secretsUserAssignment
    xmlApiPasswordSecret
  ]
}

// Container stdout to the file system, so that `az webapp log tail` streams the JSON log lines.
resource logsConfig 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: webApp
  name: 'logs'
  properties: {
    httpLogs: {
      fileSystem: {
        enabled: true
        retentionInMb: 35
        retentionInDays: 7
      }
    }
  }
  // Two config writes to one site at the same time can conflict.
  dependsOn: [
    appSettings
  ]
}

// Container stdout (pino JSON lines), HTTP and platform logs to Log Analytics.
resource webAppDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: webApp
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspace.id
    logs: [
      {
        category: 'AppServiceConsoleLogs'
        enabled: true
      }
      {
        category: 'AppServiceHTTPLogs'
        enabled: true
      }
      {
        category: 'AppServicePlatformLogs'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Outputs
// ---------------------------------------------------------------------------------------------------------------

output webAppName string = webApp.name
output defaultHostName string = webApp.properties.defaultHostName
@description('Object id of the web app\'s service principal: the -PrincipalId of infra/grant-graph-permissions.ps1.')
output principalId string = webApp.identity.principalId
@description('Application (client) id of the same identity (what Exchange calls the AppId).')
output identityClientId string = webAppIdentity.properties.clientId
output keyVaultName string = vault.name
output webhookUrl string = '${effectivePublicBaseUrl}/webhooks/graph'
