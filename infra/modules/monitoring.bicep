// Log Analytics workspace and a workspace-based Application Insights: the web app's console (the JSON log lines),
// HTTP and platform logs, and the Application Insights agent's telemetry end up in one place.

@description('Name of the Log Analytics workspace.')
param workspaceName string

@description('Name of the Application Insights component.')
param appInsightsName string

@description('Azure region of both.')
param location string

@description('Days the workspace keeps logs (31 days are included in the ingestion price).')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

@description('Tags applied to both.')
param tags object = {}

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: workspaceName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
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

@description('Resource id of the workspace, for diagnostic settings.')
output workspaceId string = workspace.id

@description('APPLICATIONINSIGHTS_CONNECTION_STRING of the web app (an ingestion address, not a credential).')
output appInsightsConnectionString string = appInsights.properties.ConnectionString
