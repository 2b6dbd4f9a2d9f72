// The metrics workbook (docs/metrics.md): the example queries of infra/monitoring/snat-metrics.kql as charts and
// tables, in the app's Application Insights.

@description('Required. Name of the Application Insights component the workbook reads.')
param applicationInsightsName string

@description('Optional. Azure region of the workbook.')
param location string = resourceGroup().location

@description('Optional. Tags applied to the workbook.')
param tags object = {}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// A workbook's name is a GUID; derived from the component, so a redeploy updates the same workbook.
resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(applicationInsights.id, 'aks-snat-monitor-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'aks-snat-monitor: SNAT ports and culprits'
    category: 'workbook'
    sourceId: applicationInsights.id
    version: 'Notebook/1.0'
    serializedData: replace(loadTextContent('../monitoring/snat-workbook.json'), '{applicationInsightsId}', applicationInsights.id)
  }
}

output workbookId string = workbook.id
