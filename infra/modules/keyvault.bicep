// Key Vault (RBAC authorisation) holding the connector's two secrets. The web app reads them as Key Vault references
// through its user-assigned identity; the deploying principal may read and rotate them.

@description('Key Vault name: 3-24 characters, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region of the vault.')
param location string

@description('Object id of the connector identity\'s service principal; it gets "Key Vault Secrets User" (read secrets).')
param readerPrincipalId string

@description('Object id of the deploying user or pipeline; it gets "Key Vault Secrets Officer" (read and rotate secrets; azd reads the client state back on every provision). Empty = nobody.')
param officerPrincipalId string = ''

@description('Kind of principal officerPrincipalId is.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param officerPrincipalType string = 'User'

@description('GRAPH_CLIENT_STATE: the secret Graph sends back in every notification (at most 128 characters).')
@secure()
@minLength(8)
@maxLength(128)
param graphClientState string

@description('XML_API_PASSWORD. Empty = no secret is created (the XML API stays off).')
@secure()
param xmlApiPassword string = ''

@description('Turn on purge protection. It can never be turned off again, and a purge-protected vault keeps its name for the whole soft-delete period.')
param purgeProtection bool = false

@description('Tags applied to the vault.')
param tags object = {}

// Built-in roles.
var secretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'
var secretsOfficerRoleId = 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'

var baseProperties = {
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

// Once on, purge protection cannot be set to false, so the property is only sent when it is wanted.
var purgeProperties = purgeProtection ? {
  enablePurgeProtection: true
} : {}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: union(baseProperties, purgeProperties)
}

resource graphClientStateSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'graph-client-state'
  properties: {
    value: graphClientState
    contentType: 'text/plain'
  }
}

resource xmlApiPasswordSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(xmlApiPassword)) {
  parent: vault
  name: 'xml-api-password'
  properties: {
    value: xmlApiPassword
    contentType: 'text/plain'
  }
}

resource readerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: vault
  name: guid(vault.id, readerPrincipalId, secretsUserRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRoleId)
    principalId: readerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource officerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(officerPrincipalId)) {
  scope: vault
  name: guid(vault.id, officerPrincipalId, secretsOfficerRoleId)
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsOfficerRoleId)
    principalId: officerPrincipalId
    principalType: officerPrincipalType
  }
}

@description('Name of the vault (AZURE_KEY_VAULT_NAME).')
output name string = vault.name

// The references name the exact version this deployment wrote: a rotated secret reaches the app when the next
// deployment points the app setting at the new version, which restarts the app and fetches it at once.
@description('Versioned URI of the graph-client-state secret, for a Key Vault reference.')
output graphClientStateSecretUri string = graphClientStateSecret.properties.secretUriWithVersion

@description('Versioned URI of the xml-api-password secret; empty when there is none.')
output xmlApiPasswordSecretUri string = empty(xmlApiPassword) ? '' : xmlApiPasswordSecret.properties.secretUriWithVersion
