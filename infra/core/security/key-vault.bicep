@description('Required. Name of the key vault (3-24 characters).')
param name string

@description('Optional. Azure region for the vault.')
param location string = resourceGroup().location

@description('Optional. Tags applied to the vault.')
param tags object = {}

@description('Optional. Teams Workflows webhook URL; stored as a secret when set.')
@secure()
param teamsWebhookUrl string = ''

@description('Optional. Slack incoming webhook URL; stored as a secret when set.')
@secure()
param slackWebhookUrl string = ''

@description('Optional. Generic JSON webhook URL; stored as a secret when set.')
@secure()
param webhookUrl string = ''

@description('Optional. HMAC-SHA256 key that signs generic webhook bodies; stored as a secret when set.')
@secure()
param webhookSecret string = ''

@description('Optional. SNATMON_NAMESPACE_CHANNELS (JSON with team webhook URLs); stored as a secret when set.')
@secure()
param namespaceChannels string = ''

@description('Required. Secret names, keyed teams, slack, webhook, webhookSecret and namespaceChannels.')
param secretNames object

var secrets = [
  { name: secretNames.teams, value: teamsWebhookUrl }
  { name: secretNames.slack, value: slackWebhookUrl }
  { name: secretNames.webhook, value: webhookUrl }
  { name: secretNames.webhookSecret, value: webhookSecret }
  { name: secretNames.namespaceChannels, value: namespaceChannels }
]

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    // RBAC mode: access is granted by role assignments (Key Vault Secrets User), never by access policies.
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Unset notification channels get no secret; the app setting that would reference it is left out as well.
resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [
  for s in secrets: if (!empty(s.value)) {
    parent: vault
    name: s.name
    properties: {
      value: s.value
      contentType: 'text/plain'
    }
  }
]

output name string = vault.name
output vaultUri string = vault.properties.vaultUri
