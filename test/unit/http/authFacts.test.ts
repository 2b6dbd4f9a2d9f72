/** The sign-in, capacity and link facts of docs/platform-facts.md held against the code. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { clusterMaxNodes, DEFAULT_MAX_SURGE, surgeNodes } from '../../../shared/findings/capacity.js';
import { ID_TOKEN_HEADER, issuerOf, signInLocation } from '../../../shared/http/signIn.js';
import { portalResource } from '../../../shared/notify/links.js';
import { repoRoot } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';

const AUTH = { clientId: 'c', tenantId: 't', authority: 'https://login.microsoftonline.com' };

describe('App Service Authentication, Entra ID and portal facts', () => {
    it('reads the ID token from the header App Service Authentication sets', () => {
        assert.equal(ID_TOKEN_HEADER, platformFact('appservice.auth.id-token-header').value.toLowerCase());
    });

    it('lets anonymous requests through App Service Authentication, since the pages check tokens themselves', () => {
        const bicep = readFileSync(join(repoRoot, 'infra', 'app', 'api.bicep'), 'utf8');
        const action = platformFact('appservice.auth.flex-consumption').value;
        assert.match(bicep, new RegExp(`unauthenticatedClientAction: '${action}'`));
        assert.match(bicep, /name: 'authsettingsV2'/);
        assert.match(bicep, /tokenStore: \{\s*enabled: true/);
    });

    it('sends people to the documented sign-in path', () => {
        const [path, parameter] = platformFact('appservice.auth.login-path').values;
        assert.ok(signInLocation('/api/pages/report').startsWith(`${path}?${parameter}=`));
    });

    it('expects v2.0 ID tokens from the tenant', () => {
        const [, suffix] = platformFact('entra.id-token.v2').values;
        assert.equal(issuerOf(AUTH), `https://login.microsoftonline.com/t${suffix}`);
    });

    it('counts upgrade surge as AKS does: 10% by default, percentages rounded up, or a node count', () => {
        assert.equal(DEFAULT_MAX_SURGE, platformFact('aks.agentpool.max-surge-default').value);
        assert.equal(surgeNodes('10%', 3), 1);
        assert.equal(surgeNodes('33%', 10), 4);
        assert.equal(surgeNodes('5', 10), 5);
        assert.equal(surgeNodes('lots', 10), undefined);
        assert.deepEqual(
            clusterMaxNodes([
                { name: 'system', count: 3 },
                { name: 'apps', count: 4, enableAutoScaling: true, maxCount: 20, maxSurge: '50%' },
            ]),
            { count: 3 + 20 + 1 + 10, basis: 'autoscaler maxima 23 + upgrade surge 11' },
        );
        assert.equal(clusterMaxNodes([{ name: 'unknown' }]), undefined, 'a pool without a size gives no maximum');
    });

    it('links resources in the portal the documented way', () => {
        const id = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c';
        assert.equal(portalResource(id), `${platformFact('portal.resource-link').value}${id}/overview`);
    });
});
