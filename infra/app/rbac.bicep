@description('Required. Object (principal) ID of the Function App\'s identity.')
param principalId string

@description('Required. The app\'s own storage account.')
param storageAccountName string

@description('Required. The app\'s key vault.')
param keyVaultName string

@description('Required. The app\'s Application Insights component.')
param applicationInsightsName string

@description('Required. Grants from main.bicep\'s role list for scopes storage, keyVault and appInsights: { scope, roleDefinitionId, reason }.')
param assignments array

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// One loop per resource type: Bicep needs a typed resource reference as the scope of each assignment.
resource storageAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in filter(assignments, x => x.scope == 'storage'): {
    name: guid(storage.id, principalId, a.roleDefinitionId)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleDefinitionId)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: a.reason
    }
  }
]

resource keyVaultAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in filter(assignments, x => x.scope == 'keyVault'): {
    name: guid(vault.id, principalId, a.roleDefinitionId)
    scope: vault
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleDefinitionId)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: a.reason
    }
  }
]

resource applicationInsightsAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in filter(assignments, x => x.scope == 'appInsights'): {
    name: guid(applicationInsights.id, principalId, a.roleDefinitionId)
    scope: applicationInsights
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleDefinitionId)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: a.reason
    }
  }
]
