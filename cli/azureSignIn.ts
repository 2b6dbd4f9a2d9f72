/**
 * Signing in before anything else Azure: without it, a laptop with no `az login` learns about it once per cluster,
 * deep in a scan report, in the SDK's words. One token request up front turns that into one line that says what to
 * do; the credential caches the token, so the commands' own calls reuse it.
 */
import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';

import type { Config } from '../shared/config.js';
import { CliError } from './io.js';
import type { Progress } from './progress.js';

export const NO_CREDENTIALS =
    'no Azure credentials: run az login, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET ' +
    '(a service principal), or run where a managed identity is available';

export const SIGN_IN_FAILED =
    'Azure refused the sign-in: run az login again, or check AZURE_TENANT_ID, AZURE_CLIENT_ID and the secret';

/**
 * DefaultAzureCredential tries each way to sign in and, when none is set up, throws AggregateAuthenticationError
 * over their CredentialUnavailableErrors; a way that is set up but refused throws its own error.
 */
function noCredentialSetUp(err: unknown): boolean {
    if (!(err instanceof Error)) return false;
    return err.name === 'CredentialUnavailableError' || err.name === 'AggregateAuthenticationError';
}

/** The credential the command uses (the given one, or DefaultAzureCredential), with a token for Resource Manager. */
export async function signIn(
    config: Pick<Config, 'arm'>,
    progress: Progress,
    credential: TokenCredential = new DefaultAzureCredential(),
): Promise<TokenCredential> {
    try {
        const token = await progress.step('Signing in to Azure', () => credential.getToken(config.arm.scope));
        if (!token) throw new Error('the credential returned no token');
    } catch (err) {
        throw new CliError(noCredentialSetUp(err) ? NO_CREDENTIALS : SIGN_IN_FAILED, { cause: err });
    }
    return credential;
}
