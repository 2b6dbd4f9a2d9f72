import { ContainerServiceClient } from '@azure/arm-containerservice';
import { MonitorClient } from '@azure/arm-monitor';
import type { TokenCredential } from '@azure/identity';

export interface ArmClientSettings {
    /** Resource Manager base URL; the SDK's public-cloud default when absent. */
    endpoint?: string;
    /** Token scope for Resource Manager. */
    scope: string;
    /** The SDK pipeline's retry policy (429 with Retry-After, 5xx): defaults to 3 retries. */
    retryOptions?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
}

/** One client per subscription and service, built on first use with the same credential and endpoint. */
export class AzureClients {
    private readonly containerServiceClients = new Map<string, ContainerServiceClient>();
    private readonly monitorClients = new Map<string, MonitorClient>();

    constructor(
        readonly credential: TokenCredential,
        private readonly settings: ArmClientSettings,
    ) {}

    private options() {
        return {
            ...(this.settings.endpoint === undefined ? {} : { endpoint: this.settings.endpoint }),
            credentials: { scopes: [this.settings.scope] },
            ...(this.settings.retryOptions === undefined ? {} : { retryOptions: this.settings.retryOptions }),
        };
    }

    containerService(subscriptionId: string): ContainerServiceClient {
        const key = subscriptionId.toLowerCase();
        let client = this.containerServiceClients.get(key);
        if (!client) {
            client = new ContainerServiceClient(this.credential, subscriptionId, this.options());
            this.containerServiceClients.set(key, client);
        }
        return client;
    }

    monitor(subscriptionId: string): MonitorClient {
        const key = subscriptionId.toLowerCase();
        let client = this.monitorClients.get(key);
        if (!client) {
            client = new MonitorClient(this.credential, subscriptionId, this.options());
            this.monitorClients.set(key, client);
        }
        return client;
    }
}

export function subscriptionOf(resourceId: string): string {
    const match = /^\/?subscriptions\/([^/]+)/i.exec(resourceId.trim());
    if (!match?.[1])
        throw new RangeError(`Expected an ARM resource id starting with /subscriptions/, got '${resourceId}'`);
    return match[1];
}
