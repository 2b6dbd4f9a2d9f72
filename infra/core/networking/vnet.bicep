@description('Required. Name of the virtual network.')
param name string

@description('Optional. Azure region for the network.')
param location string = resourceGroup().location

@description('Optional. Tags applied to the network.')
param tags object = {}

@description('Optional. Address space of the virtual network.')
param addressPrefix string = '10.90.0.0/16'

@description('Optional. Prefix of the subnet the Function App integrates with (/27 or larger).')
param appSubnetPrefix string = '10.90.0.0/24'

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'snatmon-app'
        properties: {
          addressPrefix: appSubnetPrefix
          // Flex Consumption VNet integration requires this delegation.
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
    ]
  }

  resource appSubnet 'subnets' existing = {
    name: 'snatmon-app'
  }
}

output id string = vnet.id
output appSubnetId string = vnet::appSubnet.id
