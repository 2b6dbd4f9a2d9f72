@description('Required. Object (principal) ID of the service principal that receives the roles.')
param principalId string

@description('Required. Grants at this resource group: { roleDefinitionId, reason }.')
param assignments array

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in assignments: {
    name: guid(resourceGroup().id, principalId, a.roleDefinitionId)
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleDefinitionId)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: a.reason
    }
  }
]
