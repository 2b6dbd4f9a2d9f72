import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { ConfigError, loadConfig } from '../../../shared/config.js';
import { repoRoot } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';

const CONNECTION =
    'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/';
const CLIENT_ID = '7c0e9a62-1d2b-4c3d-9e8f-0a1b2c3d4e5f';

function telemetry(authentication?: string) {
    return loadConfig({
        APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION,
        ...(authentication === undefined ? {} : { APPLICATIONINSIGHTS_AUTHENTICATION_STRING: authentication }),
    }).telemetry;
}

describe('metrics export settings', () => {
    it('reads the authentication string in the documented forms, fields in any order', () => {
        const [aad, clientIdField] = platformFact('appinsights.authentication-string').values;
        assert.equal(aad, 'Authorization=AAD');
        assert.deepEqual(telemetry(aad), { connectionString: CONNECTION });
        // The documented order, and the order infra/app/api.bicep writes.
        assert.deepEqual(telemetry(`${aad};${clientIdField}=${CLIENT_ID}`), {
            connectionString: CONNECTION,
            clientId: CLIENT_ID,
        });
        assert.deepEqual(telemetry(`${clientIdField}=${CLIENT_ID};${aad}`)?.clientId, CLIENT_ID);
        const api = readFileSync(join(repoRoot, 'infra', 'app', 'api.bicep'), 'utf8');
        assert.match(
            api,
            /APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=\$\{identityClientId\};Authorization=AAD'/,
        );
    });

    it('exports nothing without a connection string, and refuses a malformed one without showing it', () => {
        assert.equal(loadConfig({}).telemetry, undefined);
        assert.throws(
            () =>
                loadConfig({ APPLICATIONINSIGHTS_CONNECTION_STRING: 'IngestionEndpoint=https://secret-host.example/' }),
            (err: unknown) =>
                err instanceof ConfigError &&
                /APPLICATIONINSIGHTS_CONNECTION_STRING/.test(err.message) &&
                !err.message.includes('secret-host'),
        );
        assert.throws(() => telemetry('Authorization=Key'), /APPLICATIONINSIGHTS_AUTHENTICATION_STRING/);
        assert.throws(() => telemetry(`Authorization=AAD;ClientId=not-a-guid`), /ClientId=<GUID>/);
    });
});
