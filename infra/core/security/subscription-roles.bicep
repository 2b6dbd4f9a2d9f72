targetScope = 'subscription'

@description('Required. Object (principal) ID of the service principal that receives the roles.')
param principalId string

@description('Required. Grants at this subscription: { roleDefinitionId, reason }.')
param assignments array

resource assignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in assignments: {
    name: guid(subscription().id, principalId, a.roleDefinitionId)
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleDefinitionId)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: a.reason
    }
  }
]
