// The connector's user-assigned managed identity: its Microsoft Graph credential, its Key Vault reader and, with
// Azure SQL, its database user. User-assigned, so that it exists before the web app and survives a re-created app.

@description('Name of the identity. With Azure SQL it is also the name of its database user, so keep it unique in the tenant.')
param name string

@description('Azure region of the identity.')
param location string

@description('Tags applied to the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id: what the web app and its Key Vault references name.')
output id string = identity.id

@description('Name of the identity (the database user with Azure SQL).')
output name string = identity.name

@description('Client (application) id: GRAPH_MANAGED_IDENTITY_CLIENT_ID and AZURE_CLIENT_ID; Exchange calls it the AppId.')
output clientId string = identity.properties.clientId

@description('Object id of its service principal: role assignments, and -PrincipalId of infra/grant-graph-permissions.ps1.')
output principalId string = identity.properties.principalId
