/**
 * NAT gateways of one resource group (Microsoft.Network NatGateways_List), read through the app's Resource Manager
 * pipeline. Used to find the gateway AKS made for a managedNATGateway cluster in its node resource group.
 */
import { createRestError, type PathUncheckedResponse } from '@azure-rest/core-client';

import type { NatGatewaySummary } from '../detect/types.js';
import { isNatGatewayId } from '../resourceId.js';
import type { AzureClients } from './clients.js';
import { upstream } from './errors.js';

/** The Microsoft.Network version whose NatGatewayList.json example the fixtures and the local Azure follow. */
export const NAT_GATEWAY_API_VERSION = '2024-05-01';
/** A node resource group holds one gateway; pages beyond this are a loop, not data. */
const MAX_PAGES = 20;

export interface NatGatewayList {
    gateways: NatGatewaySummary[];
    /** Items that had no usable NAT gateway id, counted and left out. */
    skipped: number;
}

/** What one list item says, or undefined when it names no NAT gateway. */
export function toNatGatewaySummary(item: unknown): NatGatewaySummary | undefined {
    if (typeof item !== 'object' || item === null) return undefined;
    const { id, properties } = item as { id?: unknown; properties?: { publicIpAddresses?: unknown } };
    if (typeof id !== 'string' || !isNatGatewayId(id)) return undefined;
    const references = Array.isArray(properties?.publicIpAddresses) ? (properties.publicIpAddresses as unknown[]) : [];
    const publicIpAddresses = references.flatMap((r) =>
        typeof r === 'object' && r !== null && typeof (r as { id?: unknown }).id === 'string'
            ? [(r as { id: string }).id]
            : [],
    );
    return { id, publicIpAddresses };
}

export async function listNatGateways(
    clients: AzureClients,
    subscriptionId: string,
    resourceGroup: string,
): Promise<NatGatewayList> {
    const operation = `Listing NAT gateways in resource group ${resourceGroup}`;
    const client = clients.resourceManager();
    const result: NatGatewayList = { gateways: [], skipped: 0 };
    let request = client
        .pathUnchecked(
            '/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/natGateways',
            subscriptionId,
            resourceGroup,
        )
        .get({ queryParameters: { 'api-version': NAT_GATEWAY_API_VERSION } });
    const origin = clients.resourceManagerOrigin();
    for (let page = 0; page < MAX_PAGES; page++) {
        let response: PathUncheckedResponse;
        try {
            response = await request;
        } catch (error) {
            throw upstream(operation, error);
        }
        if (!/^2\d\d$/.test(response.status)) throw upstream(operation, createRestError(response));
        const body = response.body as { value?: unknown; nextLink?: unknown } | undefined;
        if (!Array.isArray(body?.value)) {
            throw upstream(operation, new Error(`expected a body with a "value" array, got ${typeof body?.value}`));
        }
        for (const item of body.value as unknown[]) {
            const gateway = toNatGatewaySummary(item);
            if (gateway) result.gateways.push(gateway);
            else result.skipped++;
        }
        if (typeof body.nextLink !== 'string' || body.nextLink === '') return result;
        // The token goes with every page: follow only links back to the same Resource Manager.
        if (!URL.canParse(body.nextLink) || new URL(body.nextLink).origin !== origin) {
            throw upstream(operation, new Error(`nextLink points away from ${origin}`));
        }
        request = client.pathUnchecked(body.nextLink).get();
    }
    throw upstream(operation, new Error(`more than ${MAX_PAGES} pages`));
}
