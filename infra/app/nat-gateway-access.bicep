// Deployed into the resource group of a user-assigned NAT gateway, which lives outside the node resource group.

@description('Required. Name of the NAT gateway.')
param natGatewayName string

@description('Required. Object (principal) ID of the Function App\'s identity.')
param principalId string

@description('Required. Grants from main.bicep\'s role list for scope natGateway: { scope, roleDefinitionId, reason }.')
param assignments array

resource natGateway 'Microsoft.Network/natGateways@2024-05-01' existing = {
  name: natGatewayName
}

resource natGatewayAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in assignments: {
    name: guid(natGateway.id, principalId, a.roleDefinitionId)
    scope: natGateway
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleDefinitionId)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: a.reason
    }
  }
]
