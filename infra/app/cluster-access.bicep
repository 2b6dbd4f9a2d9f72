// Deployed into a monitored cluster's resource group.

@description('Required. Name of the AKS cluster.')
param clusterName string

@description('Required. Object (principal) ID of the Function App\'s identity.')
param principalId string

@description('Required. Grants from main.bicep\'s role list for scope cluster: { scope, roleDefinitionId, reason }.')
param assignments array

resource cluster 'Microsoft.ContainerService/managedClusters@2024-09-01' existing = {
  name: clusterName
}

resource clusterAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for a in assignments: {
    name: guid(cluster.id, principalId, a.roleDefinitionId)
    scope: cluster
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', a.roleDefinitionId)
      principalId: principalId
      principalType: 'ServicePrincipal'
      description: a.reason
    }
  }
]

// Read at deployment time so main.bicep can grant metrics access on the node resource group.
output nodeResourceGroup string = cluster.properties.nodeResourceGroup
