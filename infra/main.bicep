// Email Connector on Azure: `azd up` from the repository root provisions this, then deploys the service.
// Without azd: az deployment sub create -l <region> -f infra/main.bicep -p @<your parameters file>
// Steps, costs and operations: docs/deploy-azure.md.

targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------------------------
// Parameters (azd fills them from the environment: infra/main.parameters.json)
// ---------------------------------------------------------------------------------------------------------------

@description('Name of the azd environment (e.g. prod); part of the resource group name and of every resource name.')
@minLength(1)
@maxLength(48)
param environmentName string

@description('Azure region of every resource.')
param location string

@description('Name of the resource group to create. Empty = rg-<environmentName>.')
param resourceGroupName string = ''

@description('Object id of the deploying user or pipeline (azd passes the signed-in one). It may read and rotate the secrets and, by default, administers Azure SQL.')
param principalId string = ''

@description('Kind of principal principalId is.')
@allowed([
  'User'
  'ServicePrincipal'
])
param principalType string = 'User'

@description('SUPPORT_ADDRESS: the public support address the connector serves.')
@minLength(3)
param supportAddress string

@description('INTERNAL_SUPPORT_ADDRESS: where undecidable mail, errors and customer replies go. Must differ from supportAddress.')
@minLength(3)
param internalSupportAddress string

@description('SUPPORT_MAILBOX: UPN or object id of the Exchange Online mailbox to watch. Empty = supportAddress.')
param supportMailbox string = ''

@description('Where the CRM lives: sqlite (a file on the app\'s /home storage, one instance) or azuresql (Azure SQL, needs the SQL Server adapter, allows several instances).')
@allowed([
  'sqlite'
  'azuresql'
])
param databaseKind string = 'sqlite'

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

@description('Instances of the web app with databaseKind=azuresql (Basic allows at most 3). With sqlite it is always 1.')
@minValue(1)
@maxValue(10)
param instanceCount int = 1

@description('PUBLIC_BASE_URL when a custom domain fronts the app. Empty = the app\'s https://<default host name>.')
param publicBaseUrl string = ''

@description('GRAPH_CLIENT_STATE, stored in Key Vault. azd passes the value already in the vault (or a new random one on the first provision). Empty = a random value, new on every deployment.')
@secure()
param graphClientState string = ''

@description('Do not set: the random fallback for graphClientState.')
@secure()
param generatedClientState string = newGuid()

@description('XML_API_PASSWORD, stored in Key Vault. Given = the XML API is on and every transaction must carry it; empty = the XML API stays off.')
@secure()
param xmlApiPassword string = ''

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

@description('Further app settings (name: string value), e.g. RULES_FILE or TICKET_TAG_PREFIX; they override the settings above. See "Set by hand" in docs/deploy-azure.md.')
param additionalAppSettings object = {}

@description('Turn on the Application Insights agent for Node.js (requests, dependencies, exceptions) without code changes.')
param enableApplicationInsightsAgent bool = true

@description('Turn on Key Vault purge protection (irreversible; the secrets here can be regenerated, so it is off by default).')
param keyVaultPurgeProtection bool = false

@description('Azure SQL: object id of the Entra administrator. Empty = principalId (the deploying user).')
param sqlAdminObjectId string = ''

@description('Azure SQL: display name recorded for the Entra administrator.')
param sqlAdminLogin string = 'Email Connector SQL administrator'

@description('Azure SQL: kind of principal sqlAdminObjectId is (a Group is the better choice for a team).')
@allowed([
  'User'
  'Group'
  'Application'
])
param sqlAdminPrincipalType string = 'User'

@description('Azure SQL: public IPv4 address of the workstation that runs the post-provision script (and crm import). Empty = no firewall rule for it.')
param sqlClientIpAddress string = ''

// ---------------------------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'email-connector'
}
var useAzureSql = databaseKind == 'azuresql'
var hasXmlApiPassword = !empty(xmlApiPassword)

// ---------------------------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------------------------

resource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  scope: rg
  name: 'identity'
  params: {
    name: 'id-email-connector-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: rg
  name: 'monitoring'
  params: {
    workspaceName: 'log-${resourceToken}'
    appInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
  }
}

module vault 'modules/keyvault.bicep' = {
  scope: rg
  name: 'keyvault'
  params: {
    name: 'kv-${resourceToken}'
    location: location
    readerPrincipalId: identity.outputs.principalId
    officerPrincipalId: principalId
    officerPrincipalType: principalType
    graphClientState: empty(graphClientState) ? generatedClientState : graphClientState
    xmlApiPassword: xmlApiPassword
    purgeProtection: keyVaultPurgeProtection
    tags: tags
  }
}

module sql 'modules/sql.bicep' = if (useAzureSql) {
  scope: rg
  name: 'sql'
  params: {
    serverName: 'sql-${resourceToken}'
    location: location
    adminObjectId: empty(sqlAdminObjectId) ? principalId : sqlAdminObjectId
    adminLogin: sqlAdminLogin
    adminPrincipalType: sqlAdminPrincipalType
    clientIpAddress: sqlClientIpAddress
    tags: tags
  }
}

// The connector's own settings; the web app module adds PUBLIC_BASE_URL and the platform's build settings.
var connectorSettings = {
  SUPPORT_ADDRESS: supportAddress
  INTERNAL_SUPPORT_ADDRESS: internalSupportAddress
  SUPPORT_MAILBOX: empty(supportMailbox) ? supportAddress : supportMailbox
  DATABASE_URL: useAzureSql ? sql.outputs.databaseUrl : 'sqlite:/home/data/crm.sqlite'
  LOG_LEVEL: logLevel
  GRAPH_AUTH: 'managed-identity'
  GRAPH_MANAGED_IDENTITY_CLIENT_ID: identity.outputs.clientId
  GRAPH_CLIENT_STATE: '@Microsoft.KeyVault(SecretUri=${vault.outputs.graphClientStateSecretUri})'
  // The service refuses to start with the API on and no password, so the password switches it on.
  XML_API_ENABLED: hasXmlApiPassword ? 'true' : 'false'
  // Names the user-assigned identity for Azure SDK credentials that look for it here (the SQL Server sign-in).
  AZURE_CLIENT_ID: identity.outputs.clientId
}

var xmlApiSettings = hasXmlApiPassword ? {
  XML_API_PASSWORD: '@Microsoft.KeyVault(SecretUri=${vault.outputs.xmlApiPasswordSecretUri})'
} : {}

var monitoringSettings = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.appInsightsConnectionString
}

var agentSettings = enableApplicationInsightsAgent ? {
  ApplicationInsightsAgent_EXTENSION_VERSION: '~3'
} : {}

module app 'modules/appservice.bicep' = {
  scope: rg
  name: 'appservice'
  params: {
    name: 'app-email-connector-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    sku: appServicePlanSku
    // SQLite is one file that one process at a time may own; only Azure SQL lets instances share the CRM.
    instanceCount: useAzureSql ? instanceCount : 1
    identityId: identity.outputs.id
    appSettings: union(connectorSettings, xmlApiSettings, monitoringSettings, agentSettings, additionalAppSettings)
    publicBaseUrl: publicBaseUrl
    workspaceId: monitoring.outputs.workspaceId
    tags: tags
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Outputs: azd stores them in the environment (azd env get-values); none of them is a secret
// ---------------------------------------------------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
@description('Read by azd on the next provision to keep GRAPH_CLIENT_STATE (infra/main.parameters.json).')
output AZURE_KEY_VAULT_NAME string = vault.outputs.name
output SERVICE_CONNECTOR_NAME string = app.outputs.name
@description('The web app\'s HTTPS address, which is PUBLIC_BASE_URL.')
output SERVICE_CONNECTOR_URI string = app.outputs.url
output CONNECTOR_WEBHOOK_URL string = '${app.outputs.url}/webhooks/graph'
output CONNECTOR_IDENTITY_NAME string = identity.outputs.name
@description('-PrincipalId of infra/grant-graph-permissions.ps1.')
output CONNECTOR_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output CONNECTOR_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output DATABASE_KIND string = databaseKind
output AZURE_SQL_SERVER_FQDN string = useAzureSql ? sql.outputs.serverFqdn : ''
output AZURE_SQL_DATABASE_NAME string = useAzureSql ? sql.outputs.databaseName : ''
