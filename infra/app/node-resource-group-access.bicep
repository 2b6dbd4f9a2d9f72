// ARM fixes a module's scope before the deployment starts, so the node resource group (known only
// after the cluster was read) arrives here as a parameter and becomes a scope one level down.
targetScope = 'subscription'

@description('Required. Node resource group of a monitored cluster (MC_...), where its load balancer and NAT gateway live.')
param nodeResourceGroupName string

@description('Required. Object (principal) ID of the Function App\'s identity.')
param principalId string

@description('Required. Grants from main.bicep\'s role list for scope nodeResourceGroup: { scope, roleDefinitionId, reason }.')
param assignments array

module roles '../core/security/resource-group-roles.bicep' = {
  name: take('snatmon-noderg-${uniqueString(nodeResourceGroupName, principalId)}', 64)
  scope: resourceGroup(nodeResourceGroupName)
  params: {
    principalId: principalId
    assignments: assignments
  }
}
