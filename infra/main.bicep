targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Required. Name of the azd environment; seeds resource names and the resource group name.')
param environmentName string

@minLength(1)
@description('Required. Azure region for every resource (pick one where Flex Consumption is available).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Optional. Resource group to create; defaults to rg-<environmentName>.')
param resourceGroupName string = ''

@description('Optional. Comma-separated resource IDs of the AKS clusters to monitor. Set this, subscriptionIds, or both.')
param clusterResourceIds string = ''

@description('Optional. Comma-separated subscription IDs whose AKS clusters are all monitored. Set this, clusterResourceIds, or both.')
param subscriptionIds string = ''

@description('Optional. NCRONTAB schedule (six fields, UTC) of the scan timer.')
param scanSchedule string = '0 */1 * * * *'

@description('Optional. Failed SNAT connections per node and minute at or above which a node counts as exhausted.')
@minValue(1)
param failedConnectionsThreshold int = 1

@description('Optional. Used/allocated SNAT port percentage at or above which a node counts as at risk.')
@minValue(1)
@maxValue(100)
param atRiskPercent int = 75

@description('Optional. Minutes between two investigations of the same node.')
@minValue(0)
param cooldownMinutes int = 15

@description('Optional. Days the tables keep samples, delivered notifications, finished investigations, resolved incidents and findings; the daily prune timer deletes older rows.')
@minValue(1)
@maxValue(3650)
param retentionDays int = 30

@description('Optional. NAT Gateway clusters have no per-node metric: at most this many nodes are investigated per incident.')
@minValue(1)
@maxValue(1000)
param natGatewayNodeCap int = 3

@description('Optional. Comma-separated <AKS cluster resource ID>=<NAT gateway resource ID> pairs for clusters with outbound type userAssignedNATGateway, whose gateway is not in the node resource group.')
param natGateways string = ''

@description('Optional. Investigate through the Kubernetes API directly (needs network line of sight, see vnetEnabled) instead of AKS run command. Also grants listClusterUserCredential.')
param directKubernetesExecutor bool = false

@description('Optional. Grant VM run command on the node resource groups (a custom role with Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action), so a node that refuses the probe pod is probed on its VM. With monitored subscriptions the grant is subscription-wide. false also sets SNATMON_EXECUTOR_FALLBACK to none.')
param grantVmRunCommand bool = true

@description('Optional. Integrate the Function App with a virtual network (for the direct executor into private clusters).')
param vnetEnabled bool = false

@description('Optional. Existing subnet, delegated to Microsoft.App/environments, to integrate with; empty creates a new virtual network when vnetEnabled.')
param existingAppSubnetId string = ''

@description('Optional. Address space of the virtual network created when vnetEnabled and no existing subnet is given.')
param vnetAddressPrefix string = '10.90.0.0/16'

@description('Optional. Prefix of the integration subnet in that virtual network.')
param appSubnetPrefix string = '10.90.0.0/24'

@description('Optional. Upper bound on Function App instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Optional. Teams Workflows webhook URL (kept in Key Vault).')
@secure()
param teamsWebhookUrl string = ''

@description('Optional. Slack incoming webhook URL (kept in Key Vault).')
@secure()
param slackWebhookUrl string = ''

@description('Optional. Generic JSON webhook URL (kept in Key Vault).')
@secure()
param webhookUrl string = ''

@description('Optional. HMAC-SHA256 key signing generic webhook bodies (kept in Key Vault).')
@secure()
param webhookSecret string = ''

@description('Optional. SNATMON_NAMESPACE_CHANNELS: JSON from namespace to the owning team\'s channels (docs/notifications.md; kept in Key Vault). Empty: every alert goes to the default channels only.')
@secure()
param namespaceChannels string = ''

@description('Optional. SNATMON_NAMESPACE_ROUTING: alongside (team channels get their alerts as well as the defaults) or instead.')
@allowed([
  'alongside'
  'instead'
])
param namespaceRouting string = 'alongside'

@description('Optional. Client ID of the Entra ID app registration people sign in to the pages with (App Service Authentication); empty leaves the pages off.')
param pagesClientId string = ''

@description('Optional. Opt-in: an action group and a failed-SNAT metric alert per cluster in clusterResourceIds call the app at once (docs/alerts.md). Needs the alertApp* params, and the app code deployed first: run azd provision again after the first azd up.')
param alertsEnabled bool = false

@description('Optional. Client ID of the Entra ID app registration the action group\'s secure webhook gets tokens for (with alertsEnabled).')
param alertAppClientId string = ''

@description('Optional. Object ID of that app registration (with alertsEnabled).')
param alertAppObjectId string = ''

@description('Optional. Application ID URI of that app registration, api://... (with alertsEnabled).')
param alertAppIdentifierUri string = ''

@description('Optional. Opt-in: a workbook in Application Insights charting the metrics the app exports, from the queries in infra/monitoring (docs/metrics.md).')
param metricsWorkbookEnabled bool = false

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = 'func-snatmon-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}'

// union() with an empty array drops duplicates, which would otherwise collide as identical role assignments.
var clusterIds = union(filter(map(split(clusterResourceIds, ','), id => trim(id)), id => !empty(id)), [])
var monitoredSubscriptionIds = union(filter(map(split(subscriptionIds, ','), id => trim(id)), id => !empty(id)), [])
var clusterSubscriptionIds = map(clusterIds, id => split(id, '/')[2])
var natGatewayPairs = filter(map(split(natGateways, ','), pair => trim(pair)), pair => !empty(pair))
var natGatewayIds = union(map(natGatewayPairs, pair => trim(split(pair, '=')[1])), [])

// Built-in roles, checked against Microsoft's built-in role list by test/unit/infra/roles.test.ts.
var monitoringReaderRoleId = '43d0d8ad-25c7-4714-9337-8ba259a9fe05' // Monitoring Reader
var storageBlobDataOwnerRoleId = 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
var storageQueueDataContributorRoleId = '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
var storageTableDataContributorRoleId = '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher

// Exactly what discovery, node mapping and run command need; the kubeconfig only for the direct executor.
var clusterReadAndRunActions = [
  'Microsoft.ContainerService/managedClusters/read'
  'Microsoft.ContainerService/managedClusters/runcommand/action'
  'Microsoft.ContainerService/managedClusters/commandResults/read'
  'Microsoft.ContainerService/managedClusters/agentPools/machines/read'
]
var directExecutorActions = directKubernetesExecutor ? ['Microsoft.ContainerService/managedClusters/listClusterUserCredential/action'] : []

resource clusterInvestigatorRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'snatmon-cluster-investigator')
  properties: {
    roleName: 'SNAT monitor cluster investigator (${environmentName}, ${resourceToken})'
    description: 'Read AKS clusters and their machines, and run commands through AKS run command as the caller (bounded by the Kubernetes RBAC the cluster grants it).'
    type: 'CustomRole'
    permissions: [
      {
        actions: concat(clusterReadAndRunActions, directExecutorActions)
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: map(union([subscription().subscriptionId], clusterSubscriptionIds, monitoredSubscriptionIds), s => '/subscriptions/${s}')
  }
}

// The only action the VM run command fallback needs; the scale set VMs live in each cluster's node resource group.
resource vmProberRole 'Microsoft.Authorization/roleDefinitions@2022-04-01' = {
  name: guid(subscription().id, environmentName, 'snatmon-vm-prober')
  properties: {
    roleName: 'SNAT monitor VM prober (${environmentName}, ${resourceToken})'
    description: 'Run the read-only SNAT probe on AKS node VMs through Virtual Machine Scale Set run command, for nodes that cannot admit the probe pod.'
    type: 'CustomRole'
    permissions: [
      {
        actions: [
          'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action'
        ]
        notActions: []
        dataActions: []
        notDataActions: []
      }
    ]
    assignableScopes: map(union([subscription().subscriptionId], clusterSubscriptionIds, monitoredSubscriptionIds), s => '/subscriptions/${s}')
  }
}

// Every grant the Function's identity receives, in one list. Each scope kind goes to one module, which loops over it.
var roleAssignments = [
  {
    scope: 'storage'
    roleDefinitionId: storageBlobDataOwnerRoleId
    reason: 'Flex Consumption deployment package and Functions host blobs (timer locks, keys)'
  }
  {
    scope: 'storage'
    roleDefinitionId: storageQueueDataContributorRoleId
    reason: 'Investigation queue and Functions host queues'
  }
  {
    scope: 'storage'
    roleDefinitionId: storageTableDataContributorRoleId
    reason: 'Findings, node state and notification outbox tables'
  }
  {
    scope: 'keyVault'
    roleDefinitionId: keyVaultSecretsUserRoleId
    reason: 'Key Vault references for webhook URLs and the webhook secret'
  }
  {
    scope: 'appInsights'
    roleDefinitionId: monitoringMetricsPublisherRoleId
    reason: 'Entra ID authenticated telemetry'
  }
  {
    scope: 'cluster'
    roleDefinitionId: clusterInvestigatorRole.name
    reason: 'Discovery, machines and run command on a monitored cluster'
  }
  {
    scope: 'nodeResourceGroup'
    roleDefinitionId: monitoringReaderRoleId
    reason: 'Load balancer and NAT gateway SNAT metrics of a monitored cluster'
  }
  {
    scope: 'nodeResourceGroupVm'
    roleDefinitionId: vmProberRole.name
    reason: 'VM run command on the nodes of a monitored cluster (granted when grantVmRunCommand)'
  }
  {
    scope: 'natGateway'
    roleDefinitionId: monitoringReaderRoleId
    reason: 'SNAT metrics of a user-assigned NAT gateway of a monitored cluster'
  }
  {
    scope: 'subscription'
    roleDefinitionId: clusterInvestigatorRole.name
    reason: 'Discovery, machines and run command on every cluster of a monitored subscription'
  }
  {
    // Node resource groups of clusters discovered later are unknown now: subscription-wide, as for metrics.
    scope: 'subscriptionVm'
    roleDefinitionId: vmProberRole.name
    reason: 'VM run command on the nodes of every cluster of a monitored subscription (granted when grantVmRunCommand)'
  }
  {
    // Node resource groups of clusters discovered later are unknown now, so metrics read is subscription-wide.
    scope: 'subscription'
    roleDefinitionId: monitoringReaderRoleId
    reason: 'SNAT metrics of every cluster of a monitored subscription'
  }
]

var secretNames = {
  teams: 'snatmon-teams-webhook-url'
  slack: 'snatmon-slack-webhook-url'
  webhook: 'snatmon-webhook-url'
  webhookSecret: 'snatmon-webhook-secret'
  namespaceChannels: 'snatmon-namespace-channels'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'core/identity/user-assigned-identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-snatmon-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'core/storage/storage-account.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'stsnat${resourceToken}'
    deploymentContainerName: deploymentContainerName
    location: location
    tags: tags
  }
}

module monitoring 'core/monitor/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-snatmon-${resourceToken}'
    applicationInsightsName: 'appi-snatmon-${resourceToken}'
    location: location
    tags: tags
  }
}

module keyVault 'core/security/key-vault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: 'kv-snat-${resourceToken}'
    location: location
    tags: tags
    secretNames: secretNames
    teamsWebhookUrl: teamsWebhookUrl
    slackWebhookUrl: slackWebhookUrl
    webhookUrl: webhookUrl
    webhookSecret: webhookSecret
    namespaceChannels: namespaceChannels
  }
}

module vnet 'core/networking/vnet.bicep' = if (vnetEnabled && empty(existingAppSubnetId)) {
  name: 'vnet'
  scope: rg
  params: {
    name: 'vnet-snatmon-${resourceToken}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    appSubnetPrefix: appSubnetPrefix
  }
}

module appRbac 'app/rbac.bicep' = {
  name: 'appRbac'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    assignments: filter(roleAssignments, r => contains(['storage', 'keyVault', 'appInsights'], r.scope))
  }
}

module clusterAccess 'app/cluster-access.bicep' = [
  for (id, i) in clusterIds: {
    name: take('snatmon-cluster-${resourceToken}-${i}', 64)
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      clusterName: split(id, '/')[8]
      principalId: identity.outputs.principalId
      assignments: filter(roleAssignments, r => r.scope == 'cluster')
    }
    dependsOn: [
      clusterInvestigatorRole
    ]
  }
]

module nodeResourceGroupAccess 'app/node-resource-group-access.bicep' = [
  for (id, i) in clusterIds: {
    name: take('snatmon-noderg-${resourceToken}-${i}', 64)
    scope: subscription(split(id, '/')[2])
    params: {
      nodeResourceGroupName: clusterAccess[i].outputs.nodeResourceGroup
      principalId: identity.outputs.principalId
      assignments: filter(
        roleAssignments,
        r => r.scope == 'nodeResourceGroup' || (grantVmRunCommand && r.scope == 'nodeResourceGroupVm')
      )
    }
  }
]

module natGatewayAccess 'app/nat-gateway-access.bicep' = [
  for (id, i) in natGatewayIds: {
    name: take('snatmon-natgw-${resourceToken}-${i}', 64)
    scope: resourceGroup(split(id, '/')[2], split(id, '/')[4])
    params: {
      natGatewayName: split(id, '/')[8]
      principalId: identity.outputs.principalId
      assignments: filter(roleAssignments, r => r.scope == 'natGateway')
    }
  }
]

module subscriptionAccess 'core/security/subscription-roles.bicep' = [
  for (subscriptionId, i) in monitoredSubscriptionIds: {
    name: take('snatmon-subscription-${resourceToken}-${i}', 64)
    scope: subscription(subscriptionId)
    params: {
      principalId: identity.outputs.principalId
      assignments: filter(
        roleAssignments,
        r => r.scope == 'subscription' || (grantVmRunCommand && r.scope == 'subscriptionVm')
      )
    }
    dependsOn: [
      clusterInvestigatorRole
      vmProberRole
    ]
  }
]

// Secrets are never app settings themselves, only references the platform resolves with the identity.
var keyVaultSecretUri = '${keyVault.outputs.vaultUri}secrets/'
var teamsSetting = empty(teamsWebhookUrl) ? {} : { SNATMON_TEAMS_WEBHOOK_URL: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretUri}${secretNames.teams})' }
var slackSetting = empty(slackWebhookUrl) ? {} : { SNATMON_SLACK_WEBHOOK_URL: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretUri}${secretNames.slack})' }
var webhookSetting = empty(webhookUrl) ? {} : { SNATMON_WEBHOOK_URL: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretUri}${secretNames.webhook})' }
var webhookSecretSetting = empty(webhookSecret) ? {} : { SNATMON_WEBHOOK_SECRET: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretUri}${secretNames.webhookSecret})' }
var namespaceChannelsSetting = empty(namespaceChannels) ? {} : { SNATMON_NAMESPACE_CHANNELS: '@Microsoft.KeyVault(SecretUri=${keyVaultSecretUri}${secretNames.namespaceChannels})' }
var clustersSetting = empty(clusterIds) ? {} : { SNATMON_CLUSTERS: join(clusterIds, ',') }
var subscriptionsSetting = empty(monitoredSubscriptionIds) ? {} : { SNATMON_SUBSCRIPTIONS: join(monitoredSubscriptionIds, ',') }
var natGatewaysSetting = empty(natGatewayPairs) ? {} : { SNATMON_NAT_GATEWAYS: join(natGatewayPairs, ',') }
// Who may call POST /api/alerts: action group tokens from this tenant for the app registration.
var alertSettings = alertsEnabled
  ? {
      SNATMON_ALERT_TENANT_ID: tenant().tenantId
      SNATMON_ALERT_CLIENT_ID: alertAppClientId
    }
  : {}
var snatmonSettings = union(
  {
    // The cloud this is deployed to is the cloud to monitor (public, sovereign).
    SNATMON_ARM_ENDPOINT: environment().resourceManager
    SNATMON_ARM_AUDIENCE: '${environment().resourceManager}.default'
    // Both sign-ins use it: the action group's tokens and the pages' (EasyAuth signs people in at this cloud's login).
    SNATMON_ENTRA_AUTHORITY: environment().authentication.loginEndpoint
    SNATMON_SCAN_SCHEDULE: scanSchedule
    // Queue trigger bindings read it as %SNATMON_INVESTIGATION_QUEUE%: the host needs it set to index them.
    SNATMON_INVESTIGATION_QUEUE: 'snatmon-investigations'
    SNATMON_FAILED_THRESHOLD: string(failedConnectionsThreshold)
    SNATMON_AT_RISK_PERCENT: string(atRiskPercent)
    SNATMON_COOLDOWN_MINUTES: string(cooldownMinutes)
    SNATMON_NATGW_NODE_CAP: string(natGatewayNodeCap)
    SNATMON_RETENTION_DAYS: string(retentionDays)
    SNATMON_EXECUTOR: directKubernetesExecutor ? 'kubernetes' : 'runCommand'
    SNATMON_EXECUTOR_FALLBACK: grantVmRunCommand ? 'vmRunCommand' : 'none'
    // Per-resource metrics reads fit the role assignments above (node resource groups); `batch` needs Monitoring
    // Reader on each cluster's subscription (docs/deploy.md).
    SNATMON_METRICS_API: 'resource'
    SNATMON_METRICS_BATCH_ENDPOINT: 'https://{region}.metrics.monitor.azure.com'
    SNATMON_NAMESPACE_ROUTING: namespaceRouting
  },
  clustersSetting,
  subscriptionsSetting,
  natGatewaysSetting,
  teamsSetting,
  slackSetting,
  namespaceChannelsSetting,
  webhookSetting,
  webhookSecretSetting,
  alertSettings
)

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-snatmon-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    appSettings: snatmonSettings
    pagesClientId: pagesClientId
    subnetId: vnetEnabled ? (empty(existingAppSubnetId) ? vnet!.outputs.appSubnetId : existingAppSubnetId) : ''
    maximumInstanceCount: maximumInstanceCount
  }
  // The host reaches storage and Key Vault as soon as it starts: grant first.
  dependsOn: [
    appRbac
  ]
}

module alerts 'app/alerts.bicep' = if (alertsEnabled && !empty(clusterIds)) {
  name: 'alerts'
  scope: rg
  params: {
    functionAppName: api.outputs.name
    functionAppHostName: api.outputs.hostName
    loadBalancerIds: [
      for (id, i) in clusterIds: '/subscriptions/${split(id, '/')[2]}/resourceGroups/${clusterAccess[i].outputs.nodeResourceGroup}/providers/Microsoft.Network/loadBalancers/kubernetes'
    ]
    appObjectId: alertAppObjectId
    appIdentifierUri: alertAppIdentifierUri
    failedConnectionsThreshold: failedConnectionsThreshold
    tags: tags
  }
}

module metricsWorkbook 'app/workbook.bicep' = if (metricsWorkbookEnabled) {
  name: 'metrics-workbook'
  scope: rg
  params: {
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    location: location
    tags: tags
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_FUNCTION_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_CLUSTER_ROLE_DEFINITION_ID string = clusterInvestigatorRole.id
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
