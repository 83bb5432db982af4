// App Service plan (Linux) and the web app that runs the connector with Node 22 under its user-assigned identity.
// App Service installs the production dependencies on Linux at deployment (Oryx), so a better-sqlite3 built for
// the deploying workstation never reaches the server; the uploaded package holds dist/ and the npm manifests only.

@description('Web app name; also the first label of its default host name, so it must be globally unique.')
@minLength(2)
@maxLength(60)
param name string

@description('App Service plan name.')
param planName string

@description('Azure region of the plan and the app.')
param location string

@description('Plan SKU. Always On needs Basic (B1) or above.')
param sku string

@description('Number of instances. SQLite allows exactly one; pass more only with Azure SQL.')
@minValue(1)
@maxValue(10)
param instanceCount int = 1

@description('Resource id of the user-assigned identity the app runs as and resolves Key Vault references with.')
param identityId string

@description('App settings of the connector (name: string value); Key Vault references included.')
param appSettings object

@description('PUBLIC_BASE_URL: the HTTPS address Graph calls. Empty = https:// and the app\'s default host name.')
param publicBaseUrl string = ''

@description('Resource id of the Log Analytics workspace that receives console, HTTP and platform logs.')
param workspaceId string

@description('Tags applied to the plan and the app (the app also gets azd-service-name).')
param tags object = {}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'linux'
  sku: {
    name: sku
    capacity: instanceCount
  }
  properties: {
    // Required for a Linux plan.
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2023-12-01' = {
  name: name
  location: location
  // azd finds the app to deploy the service "connector" to by this tag.
  tags: union(tags, { 'azd-service-name': 'connector' })
  kind: 'app,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    // Key Vault references are resolved with the user-assigned identity (the default would be a system-assigned one).
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      linuxFxVersion: 'NODE|22-lts'
      appCommandLine: 'node dist/main.js'
      // Subscription renewal and delta catch-up are timers: they stop if an idle app is unloaded.
      alwaysOn: true
      healthCheckPath: '/healthz'
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
  }
}

var connectorUrl = empty(publicBaseUrl) ? 'https://${site.properties.defaultHostName}' : publicBaseUrl

var siteSettings = {
  PUBLIC_BASE_URL: connectorUrl
  // Build on the server at deployment: the upload has no node_modules (azd leaves it out).
  SCM_DO_BUILD_DURING_DEPLOYMENT: 'true'
  // Production dependencies only, exactly as locked; the root's "prepare" (a TypeScript build) is skipped because
  // dist/ is uploaded, and better-sqlite3 then gets its Linux binary.
  CUSTOM_BUILD_COMMAND: 'npm ci --omit=dev --ignore-scripts && npm rebuild better-sqlite3'
  // /home (where SQLite keeps its file) is persistent storage shared by restarts and deployments.
  WEBSITES_ENABLE_APP_SERVICE_STORAGE: 'true'
}

// All app settings in one resource: a deployment replaces them all, so a setting added in the portal is removed
// by the next `azd provision` (put lasting ones into the parameter additionalAppSettings).
resource settings 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: site
  name: 'appsettings'
  properties: union(siteSettings, appSettings)
}

// Application logging to the file system, so that `az webapp log tail` and the portal's log stream show the JSON lines.
resource logs 'Microsoft.Web/sites/config@2023-12-01' = {
  parent: site
  name: 'logs'
  properties: {
    applicationLogs: {
      fileSystem: {
        level: 'Information'
      }
    }
    httpLogs: {
      fileSystem: {
        enabled: true
        retentionInMb: 35
        retentionInDays: 7
      }
    }
  }
  // Two configuration writes to one site at the same time can conflict.
  dependsOn: [
    settings
  ]
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  scope: site
  name: 'to-log-analytics'
  properties: {
    workspaceId: workspaceId
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
  }
}

@description('Name of the web app (SERVICE_CONNECTOR_NAME).')
output name string = site.name

@description('The connector\'s HTTPS address: PUBLIC_BASE_URL.')
output url string = connectorUrl
