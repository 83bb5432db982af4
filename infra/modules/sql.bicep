// Azure SQL for databaseKind=azuresql: a logical server that accepts Microsoft Entra sign-ins only, and one
// serverless General Purpose database that pauses when nothing connects. The connector's identity becomes a
// database user afterwards (infra/scripts/create-sql-user.*), because ARM cannot create database users.

@description('Logical server name (globally unique; the host is <name>.database.windows.net).')
param serverName string

@description('Database name.')
param databaseName string = 'crm'

@description('Azure region of the server and the database.')
param location string

@description('Object id of the Entra administrator: the deploying user, or better a group of administrators.')
param adminObjectId string

@description('Display name recorded for the Entra administrator (the object id is what signs in).')
param adminLogin string

@description('Kind of principal adminObjectId is.')
@allowed([
  'User'
  'Group'
  'Application'
])
param adminPrincipalType string = 'User'

@description('A public IPv4 address allowed through the firewall, e.g. the workstation that runs the post-provision script or crm import. Empty = none.')
param clientIpAddress string = ''

@description('Most vCores the serverless database scales up to.')
@allowed([
  1
  2
  4
])
param maxVCores int = 1

@description('Minutes without any connection before the database pauses (and compute billing stops).')
@minValue(15)
param autoPauseDelayMinutes int = 60

@description('Largest size the database may grow to, in GB (storage is billed on this size).')
@minValue(1)
param maxSizeGB int = 32

@description('Tags applied to the server and the database.')
param tags object = {}

resource server 'Microsoft.Sql/servers@2021-11-01' = {
  name: serverName
  location: location
  tags: tags
  properties: {
    minimalTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    administrators: {
      administratorType: 'ActiveDirectory'
      // No SQL logins at all: no password exists that could leak.
      azureADOnlyAuthentication: true
      login: adminLogin
      sid: adminObjectId
      principalType: adminPrincipalType
      tenantId: tenant().tenantId
    }
  }
}

// 0.0.0.0 is the documented marker for "Allow Azure services and resources to access this server": the web app's
// outbound addresses change with the plan, so they are not listed one by one.
resource allowAzureServices 'Microsoft.Sql/servers/firewallRules@2021-11-01' = {
  parent: server
  name: 'AllowAllWindowsAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

resource allowClient 'Microsoft.Sql/servers/firewallRules@2021-11-01' = if (!empty(clientIpAddress)) {
  parent: server
  name: 'workstation'
  properties: {
    startIpAddress: clientIpAddress
    endIpAddress: clientIpAddress
  }
}

resource database 'Microsoft.Sql/servers/databases@2021-11-01' = {
  parent: server
  name: databaseName
  location: location
  tags: tags
  sku: {
    name: 'GP_S_Gen5'
    tier: 'GeneralPurpose'
    family: 'Gen5'
    capacity: maxVCores
  }
  properties: {
    minCapacity: json('0.5')
    autoPauseDelay: autoPauseDelayMinutes
    maxSizeBytes: maxSizeGB * 1024 * 1024 * 1024
    zoneRedundant: false
    requestedBackupStorageRedundancy: 'Local'
  }
}

@description('Host name of the server.')
output serverFqdn string = server.properties.fullyQualifiedDomainName

@description('Name of the database.')
output databaseName string = database.name

@description('DATABASE_URL for the SQL Server adapter: Entra sign-in with the identity named by AZURE_CLIENT_ID.')
output databaseUrl string = 'mssql://${server.properties.fullyQualifiedDomainName}/${database.name}?authentication=azure-active-directory-default'
