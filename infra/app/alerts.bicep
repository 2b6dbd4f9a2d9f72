// Opt-in (main.bicep alertsEnabled): Azure Monitor calls the app the moment a node's SNAT fails, instead of waiting
// for the next scan. One action group with a secure webhook (Entra ID token for the app registration, plus the
// function key in the URL) and one metric alert per monitored cluster on its outbound load balancer `kubernetes`.
// Deployed into the app's resource group; the rules' scopes point into the node resource groups.

@description('Required. Name of the Function App whose POST /api/alerts receives the alerts.')
param functionAppName string

@description('Required. Load balancer resource IDs, one per monitored cluster (outbound load balancer `kubernetes`).')
param loadBalancerIds array

@description('Required. Object ID of the app registration the secure webhook gets tokens for (docs/alerts.md).')
param appObjectId string

@description('Required. Application ID URI of that app registration (api://...).')
param appIdentifierUri string

@description('Optional. Failed SNAT connections per node over five minutes that fire the alert.')
@minValue(1)
param failedConnectionsThreshold int = 1

@description('Optional. Tags applied to the action group and the alert rules.')
param tags object = {}

@description('Required. Its host name (<name>.azurewebsites.net or the Flex Consumption one).')
param functionAppHostName string

// A host key of its own, so it can be rotated without touching the keys people use for the API.
resource alertKey 'Microsoft.Web/sites/host/functionKeys@2024-04-01' = {
  name: '${functionAppName}/default/azuremonitor'
  properties: {
    name: 'azuremonitor'
  }
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-snatmon-${uniqueString(resourceId('Microsoft.Web/sites', functionAppName))}'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'snatmon'
    enabled: true
    webhookReceivers: [
      {
        name: 'snatmon-investigate'
        serviceUri: 'https://${functionAppHostName}/api/alerts?code=${listKeys(resourceId('Microsoft.Web/sites/host', functionAppName, 'default'), '2024-04-01').functionKeys.azuremonitor}'
        useCommonAlertSchema: true
        useAadAuth: true
        objectId: appObjectId
        identifierUri: appIdentifierUri
        tenantId: tenant().tenantId
      }
    ]
  }
  dependsOn: [
    alertKey
  ]
}

resource failedSnat 'Microsoft.Insights/metricAlerts@2018-03-01' = [
  for (id, i) in loadBalancerIds: {
    name: take('snatmon-failed-snat-${split(id, '/')[4]}', 260)
    location: 'global'
    tags: tags
    properties: {
      description: 'Failed SNAT connections on a node of the cluster behind this load balancer; aks-snat-monitor investigates the node at once.'
      severity: 2
      enabled: true
      scopes: [
        id
      ]
      evaluationFrequency: 'PT1M'
      windowSize: 'PT5M'
      autoMitigate: true
      criteria: {
        'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
        allOf: [
          {
            criterionType: 'StaticThresholdCriterion'
            name: 'FailedSnatConnections'
            metricNamespace: 'Microsoft.Network/loadBalancers'
            metricName: 'SnatConnectionCount'
            // Split by node, so each alert names its backend IP and the app probes that node only.
            dimensions: [
              {
                name: 'BackendIPAddress'
                operator: 'Include'
                values: [
                  '*'
                ]
              }
              {
                name: 'ConnectionState'
                operator: 'Include'
                values: [
                  'failed'
                ]
              }
            ]
            operator: 'GreaterThanOrEqual'
            threshold: failedConnectionsThreshold
            timeAggregation: 'Total'
          }
        ]
      }
      actions: [
        {
          actionGroupId: actionGroup.id
        }
      ]
    }
  }
]

output actionGroupId string = actionGroup.id
output alertRuleNames array = [for (id, i) in loadBalancerIds: failedSnat[i].name]
