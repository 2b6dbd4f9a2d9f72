@description('Required. Name of the Function App.')
param name string

@description('Required. Name of the Flex Consumption plan.')
param planName string

@description('Optional. Azure region for the plan and the app.')
param location string = resourceGroup().location

@description('Optional. Tags applied to the plan and the app.')
param tags object = {}

@description('Required. Resource ID of the user-assigned identity the app runs as.')
param identityId string

@description('Required. Client ID of that identity.')
param identityClientId string

@description('Required. Name of the app\'s own storage account (host state, queues, tables, deployment package).')
param storageAccountName string

@description('Required. Blob container holding the deployment package.')
param deploymentContainerName string

@description('Required. Name of the Application Insights component.')
param applicationInsightsName string

@description('Required. Product settings (SNATMON_*), merged with the host settings below.')
param appSettings object

@description('Optional. Client ID of the Entra ID app registration the pages sign people in with; empty for no pages.')
param pagesClientId string = ''

@description('Optional. Subnet for VNet integration (delegated to Microsoft.App/environments); empty for none.')
param subnetId string = ''

@description('Optional. Upper bound on scale-out instances.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Optional. Memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the deployment target of service `api` (azure.yaml) by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// Flex Consumption takes the runtime from functionAppConfig, so FUNCTIONS_WORKER_RUNTIME and
// FUNCTIONS_EXTENSION_VERSION are deliberately absent (the platform rejects them on this plan).
var hostSettings = {
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storage.properties.primaryEndpoints.blob
  AzureWebJobsStorage__queueServiceUri: storage.properties.primaryEndpoints.queue
  AzureWebJobsStorage__tableServiceUri: storage.properties.primaryEndpoints.table
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  // DefaultAzureCredential picks the user-assigned identity by this client ID.
  AZURE_CLIENT_ID: identityClientId
  SNATMON_REPORT_BASE_URL: 'https://${site.properties.defaultHostName}'
}

// The pages verify the signed-in person's ID token themselves (shared/http/signIn.ts), so these are set together.
var pagesSettings = empty(pagesClientId)
  ? {}
  : {
      SNATMON_PAGES_CLIENT_ID: pagesClientId
      SNATMON_PAGES_TENANT_ID: tenant().tenantId
    }

resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(appSettings, hostSettings, pagesSettings)
}

// App Service Authentication with Entra ID: /.auth/login/aad signs people in and the token store hands the app their
// ID token (X-MS-TOKEN-AAD-ID-TOKEN). Anonymous requests still reach the app: the JSON API keeps its function keys,
// and the pages refuse anyone whose token the app cannot verify (Flex Consumption docs have said EasyAuth does not
// block unauthenticated callers there, so the app never relies on it to).
resource auth 'Microsoft.Web/sites/config@2024-04-01' = if (!empty(pagesClientId)) {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: pagesClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
        }
      }
    }
    login: {
      tokenStore: {
        enabled: true
      }
    }
  }
}

output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
output hostName string = site.properties.defaultHostName
