/**
 * Runs the local Azure on its own for a demo or a manual try:
 *   npm run build && npx node dist/cli/localAzure/start.js [--port-file F]
 * prints the environment that points the product at it, then serves until interrupted. The `shop` timeline began
 * eight minutes before start: ok until minute 10, then at risk, exhausted from minute 20, recovered from minute 30.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createTestCertificates } from './certs.js';
import { fleetScenario, idOf } from './scenarios.js';
import { LocalAzure } from './server.js';

const dir = mkdtempSync(join(tmpdir(), 'local-azure-'));
const certificates = createTestCertificates(dir);
// Minute 0 of the `shop` timeline is eight minutes ago, so the first lagged metrics window already has data.
const start = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 8 * 60_000);
const scenario = fleetScenario(start);
const azure = await LocalAzure.start({ scenario, certificates });

const environment: Record<string, string> = {
    NODE_EXTRA_CA_CERTS: certificates.caCertPath,
    ...azure.identityEnvironment(),
    SNATMON_ARM_ENDPOINT: azure.armEndpoint,
    SNATMON_CLUSTERS: scenario.clusters.map(idOf).join(','),
};
const lines = Object.entries(environment).map(([name, value]) => `export ${name}='${value}'`);
const portFile = process.argv.indexOf('--port-file');
if (portFile > 0 && process.argv[portFile + 1])
    writeFileSync(process.argv[portFile + 1] ?? '', `${lines.join('\n')}\n`);
process.stdout.write(`# local Azure on ${azure.armEndpoint}; paste into the product's shell:\n${lines.join('\n')}\n`);

const stop = () => {
    void azure.close().finally(() => {
        rmSync(dir, { recursive: true, force: true });
        process.exit(0);
    });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
