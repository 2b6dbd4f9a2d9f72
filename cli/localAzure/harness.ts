import { DefaultAzureCredential } from '@azure/identity';

import { type AzureServices, type AzureServicesOptions, createAzureServices } from '../../shared/azure/services.js';
import { loadConfig } from '../../shared/config.js';
import type { Scenario } from './scenario.js';
import { LocalAzure } from './server.js';
import { trustedCertificates } from './trust.js';

/**
 * Starts the local Azure for this test process and points the process's managed identity at it, the way a Functions
 * host sets IDENTITY_ENDPOINT and IDENTITY_HEADER. Needs `import './trust.js'` first in the test file.
 */
export async function startLocalAzure(scenario: Scenario, now?: () => Date): Promise<LocalAzure> {
    const azure = await LocalAzure.start({ scenario, certificates: trustedCertificates(), ...(now ? { now } : {}) });
    Object.assign(process.env, azure.identityEnvironment());
    return azure;
}

/** App settings that aim the product at the local Azure. */
export function localAzureEnv(azure: LocalAzure, settings: Record<string, string> = {}): Record<string, string> {
    return { SNATMON_ARM_ENDPOINT: azure.armEndpoint, ...settings };
}

/** Fast SDK retries so fault tests take milliseconds; the policy itself is the SDK's. */
export const FAST_RETRIES = { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 };

/** The product's services exactly as production builds them: loadConfig, DefaultAzureCredential, real SDK clients. */
export function productServices(
    azure: LocalAzure,
    settings: Record<string, string> = {},
    options: AzureServicesOptions = {},
): AzureServices {
    return createAzureServices(loadConfig(localAzureEnv(azure, settings)), new DefaultAzureCredential(), {
        retryOptions: FAST_RETRIES,
        ...options,
    });
}
