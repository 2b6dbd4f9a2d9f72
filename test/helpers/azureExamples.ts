/**
 * Response bodies written from Azure's documented examples (test/fixtures/azure/README.md says which example each
 * follows), by name.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { repoRoot } from './paths.js';

export const DOCUMENTED_EXAMPLES = {
    metricsListFailed: 'metrics-list-failed.json',
    metricsListPorts: 'metrics-list-ports.json',
    metricsBatch: 'metrics-batch.json',
    metricsBatchError: 'metrics-batch-error.json',
    managedClusterGet: 'managed-cluster-get.json',
    managedClusterGetNat: 'managed-cluster-get-nat-gateway.json',
    managedClusterOsSku: 'managed-cluster-create-ossku.json',
    machinesList: 'machines-list.json',
    runCommandSucceeded: 'run-command-result-succeeded.json',
    runCommandFailed: 'run-command-result-failed.json',
    natGatewayList: 'nat-gateway-list.json',
} as const;

export type DocumentedExample = keyof typeof DOCUMENTED_EXAMPLES;

export function documentedExample(name: DocumentedExample): unknown {
    return JSON.parse(readFileSync(join(repoRoot, 'test', 'fixtures', 'azure', DOCUMENTED_EXAMPLES[name]), 'utf8'));
}
