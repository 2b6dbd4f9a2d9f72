/**
 * Records real probe output from the node lab into test/fixtures/probe/, for the tests that cannot build the lab
 * (no root): `sudo npx node dist/test/lab/recordProbeFixtures.js` after `npx tsc`.
 */
import { writeFileSync } from 'node:fs';

import { loadProbeScript } from '../../shared/probe/manifest.js';
import { fixturePath } from '../helpers/paths.js';
import { LAB_NODE_IP, LAB_POD_CIDR, LAB_VNET_CIDR, type LabPodSpec, NodeLab } from './nodeLab.js';
import { shopScenario } from './shopScenario.js';

export const FIXTURE_SCENARIO: LabPodSpec[] = shopScenario({
    culpritA: 24,
    culpritB: 10,
    culpritC: 6,
    churnA: 12,
    webPublic: 3,
    webVnet: 4,
    dbVnet: 5,
});

async function main(): Promise<void> {
    const lab = await NodeLab.start(FIXTURE_SCENARIO);
    try {
        const script = loadProbeScript();
        const runs: [string, Record<string, string>][] = [
            ['probe-raw.txt', { SNATMON_PROBE_WINDOW_SECONDS: '1' }],
            ['probe-aggregated.txt', { SNATMON_PROBE_WINDOW_SECONDS: '1', SNATMON_PROBE_TARGET_BYTES: '4096' }],
        ];
        for (const [file, env] of runs) {
            const run = await lab.runProbe(script, env);
            if (run.exitCode !== 0) throw new Error(`probe failed: ${run.stderr}`);
            writeFileSync(fixturePath('probe', file), run.stdout);
        }
        writeFileSync(fixturePath('probe', 'pods.json'), `${lab.podsJson()}\n`);
        const expected = {
            nodeIp: LAB_NODE_IP,
            privateCidrs: [LAB_VNET_CIDR, LAB_POD_CIDR],
            pods: lab.pods.map((pod) => ({
                namespace: pod.spec.namespace,
                name: pod.spec.name,
                ip: pod.ip,
                netns: pod.netns,
                hold: pod.spec.hold ?? [],
                churn: pod.spec.churn ?? [],
            })),
        };
        writeFileSync(fixturePath('probe', 'expected.json'), `${JSON.stringify(expected, null, 4)}\n`);
    } finally {
        await lab.stop();
    }
}

await main();
