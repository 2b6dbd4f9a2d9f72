/**
 * The Azure SDKs log each request and answer when AZURE_LOG_LEVEL is set (README: troubleshooting). Their header
 * filter keeps WWW-Authenticate, whose challenge can carry a token (an `access_token=` auth-param from a proxy or a
 * misbehaving service), and error text can quote what a service echoed. Every line the SDKs log goes through
 * redactSecrets, the same filter as the monitor's own logs, before it reaches standard error.
 */
import { format } from 'node:util';

import { AzureLogger } from '@azure/logger';

import { redactSecrets } from '../errors.js';

/** Routes all Azure SDK logging through redactSecrets; `write` receives whole lines (standard error by default). */
export function redactAzureSdkLogs(
    write: (line: string) => void = (line) => {
        process.stderr.write(line);
    },
): void {
    AzureLogger.log = (...args: unknown[]) => {
        write(`${redactSecrets(format(...args))}\n`);
    };
}
