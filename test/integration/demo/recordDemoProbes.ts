/**
 * Records the node probe output the demo's simulated clusters return from AKS run command: the real probe.sh run in
 * the node lab (test/lab/nodeLab.ts), one lab per demo node, written to cli/demo/recordings/.
 * As root: `npx tsc && npx node dist/test/integration/demo/recordDemoProbes.js`.
 *
 * The lab has no container runtime, so `SNATMON_PROBE_CRICTL` points at a stand-in that prints `crictl ps -a -o json`
 * and `crictl pods -o json` built from the lab's own pods (IDs, UIDs and names as the lab made them), in the shape
 * cri-tools prints. Everything else in the output is what the probe's tools printed.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadProbeScript } from '../../../shared/probe/manifest.js';
import { repoRoot } from '../../helpers/paths.js';
import { type LabPod, type LabPodSpec, NodeLab } from '../../lab/nodeLab.js';

export const DEMO_FIXTURES = join(repoRoot, 'cli', 'demo', 'recordings');

/** One lab per demo node: the pods on it and the connections they hold (ESTABLISHED) or churn (TIME_WAIT). */
export const DEMO_NODES: Record<'shop' | 'checkout' | 'pay', LabPodSpec[]> = {
    // Exhausted: one Deployment holds almost every SNAT port of the node's 1024.
    shop: [
        {
            name: 'egress-api-7c9f8d6b5-x2x9q',
            namespace: 'shop',
            workload: { kind: 'Deployment', name: 'egress-api' },
            hold: [
                { address: '203.0.113.10', port: 443, count: 560 },
                { address: '198.51.100.20', port: 443, count: 200 },
            ],
            churn: [{ address: '203.0.113.10', port: 443, count: 180 }],
        },
        {
            name: 'web-5d8f7c9b4-k8m2p',
            namespace: 'shop',
            workload: { kind: 'Deployment', name: 'web' },
            hold: [
                { address: '198.51.100.20', port: 443, count: 24 },
                { address: '10.230.0.50', port: 5432, count: 6 },
            ],
        },
        {
            name: 'db-sync-0',
            namespace: 'data',
            workload: { kind: 'StatefulSet', name: 'db-sync' },
            hold: [{ address: '10.230.0.50', port: 5432, count: 5 }],
        },
    ],
    // At risk: a worker that opens a new connection per payment call is at about 80% of the allocation.
    checkout: [
        {
            name: 'payments-worker-6d4b9c7f8-q7w2n',
            namespace: 'checkout',
            workload: { kind: 'Deployment', name: 'payments-worker' },
            hold: [{ address: '198.51.100.77', port: 443, count: 420 }],
            churn: [{ address: '192.0.2.45', port: 443, count: 260 }],
        },
        {
            name: 'cart-5f6d7c8b9-z4x8k',
            namespace: 'checkout',
            workload: { kind: 'Deployment', name: 'cart' },
            hold: [{ address: '203.0.113.25', port: 443, count: 40 }],
        },
    ],
    // NAT Gateway cluster: a batch job churns short connections to one API.
    pay: [
        {
            name: 'ledger-sync-28405140-7kq2d',
            namespace: 'pay',
            workload: { kind: 'Job', name: 'ledger-sync-28405140' },
            hold: [{ address: '192.0.2.80', port: 443, count: 60 }],
            churn: [{ address: '192.0.2.80', port: 443, count: 400 }],
        },
        {
            name: 'api-7b8c9d6f5-m3n4p',
            namespace: 'pay',
            workload: { kind: 'Deployment', name: 'api' },
            hold: [{ address: '198.51.100.20', port: 443, count: 30 }],
        },
    ],
};

const CREATED_NS = '1763700000000000000';

/** `crictl pods -o json` for the lab's pods: the CRI PodSandbox fields cri-tools prints. */
export function crictlPods(pods: readonly LabPod[]): string {
    const items = pods.map((pod) => ({
        id: pod.sandboxId,
        metadata: { name: pod.spec.name, uid: pod.uid, namespace: pod.spec.namespace, attempt: 0 },
        state: 'SANDBOX_READY',
        createdAt: CREATED_NS,
        labels: {
            'io.kubernetes.pod.name': pod.spec.name,
            'io.kubernetes.pod.namespace': pod.spec.namespace,
            'io.kubernetes.pod.uid': pod.uid,
        },
        annotations: { 'kubernetes.io/config.source': 'api' },
        runtimeHandler: '',
    }));
    return `${JSON.stringify({ items }, null, 2)}\n`;
}

/** `crictl ps -a -o json` for the lab's pods: one app container each, in the CRI Container shape. */
export function crictlContainers(pods: readonly LabPod[]): string {
    const containers = pods.map((pod) => ({
        id: pod.containerId,
        podSandboxId: pod.sandboxId,
        metadata: { name: 'app', attempt: 0 },
        image: { image: 'mcr.microsoft.com/app:1', annotations: {}, userSpecifiedImage: '', runtimeHandler: '' },
        imageRef: 'mcr.microsoft.com/app:1',
        state: 'CONTAINER_RUNNING',
        createdAt: CREATED_NS,
        labels: {
            'io.kubernetes.container.name': 'app',
            'io.kubernetes.pod.name': pod.spec.name,
            'io.kubernetes.pod.namespace': pod.spec.namespace,
            'io.kubernetes.pod.uid': pod.uid,
        },
        annotations: {},
    }));
    return `${JSON.stringify({ containers }, null, 2)}\n`;
}

async function record(name: keyof typeof DEMO_NODES): Promise<void> {
    const lab = await NodeLab.start(DEMO_NODES[name]);
    const dir = mkdtempSync(join(tmpdir(), 'snatmon-demo-crictl-'));
    try {
        writeFileSync(join(dir, 'pods.json'), crictlPods(lab.pods));
        writeFileSync(join(dir, 'ps.json'), crictlContainers(lab.pods));
        const standIn = join(dir, 'crictl');
        writeFileSync(
            standIn,
            `#!/bin/sh\n# Stand-in for crictl in the node lab (no container runtime): prints the lab's pods.\n` +
                `case "$1" in ps) cat ${dir}/ps.json ;; pods) cat ${dir}/pods.json ;; *) exit 2 ;; esac\n`,
        );
        chmodSync(standIn, 0o755);
        const run = await lab.runProbe(loadProbeScript(), {
            SNATMON_PROBE_WINDOW_SECONDS: '1',
            SNATMON_PROBE_CRICTL: standIn,
        });
        if (run.exitCode !== 0) throw new Error(`probe failed on ${name}: ${run.stderr}`);
        writeFileSync(join(DEMO_FIXTURES, `${name}.probe.txt`), run.stdout);
        writeFileSync(join(DEMO_FIXTURES, `${name}.pods.json`), `${lab.podsJson()}\n`);
        process.stdout.write(`${name}: ${run.stdout.length} bytes in ${run.wallMs} ms\n`);
    } finally {
        rmSync(dir, { recursive: true, force: true });
        await lab.stop();
    }
}

if (process.argv[1]?.endsWith('recordDemoProbes.js')) {
    for (const name of Object.keys(DEMO_NODES) as (keyof typeof DEMO_NODES)[]) await record(name);
}
