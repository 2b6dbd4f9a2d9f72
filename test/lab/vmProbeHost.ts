/**
 * The VM probe run on the lab node as VM run command runs it (root, no container, from a file), with a crictl
 * stand-in serving `crictl inspectp` for the lab's pods (there is no CRI here). Used by the lab test and by the
 * recorder of test/fixtures/vm-probe/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { buildVmProbeScript } from '../../shared/probe/vmProbe.js';
import { repoRoot } from '../helpers/paths.js';
import type { NodeLab, ProbeRun } from './nodeLab.js';
import { shopScenario } from './shopScenario.js';

export const STANDIN_CRICTL_HOST = join(repoRoot, 'test', 'lab', 'standin-crictl-host.sh');

/** The dense shop scenario the VM probe tests and fixtures use. */
export function vmProbeScenario() {
    return shopScenario({
        culpritA: 150,
        culpritB: 100,
        culpritC: 50,
        churnA: 60,
        webPublic: 5,
        webVnet: 15,
        dbVnet: 25,
    });
}

/** `timeoutMs` bounds the script's run (the lab's default, 2 minutes, when absent; a dense node needs more). */
export async function runVmProbeOnLab(lab: NodeLab, timeoutMs?: number): Promise<ProbeRun> {
    // What `crictl inspectp` would say of each pod sandbox, labels as the kubelet copies them from the pod.
    const dir = join(lab.sharedDir, 'inspectp');
    mkdirSync(dir, { recursive: true });
    for (const pod of lab.pods) {
        const hash = pod.spec.workload.kind === 'Deployment' ? pod.spec.name.split('-').at(-2) : undefined;
        const status = {
            id: pod.sandboxId,
            metadata: { name: pod.spec.name, namespace: pod.spec.namespace, uid: pod.uid, attempt: 0 },
            state: 'SANDBOX_READY',
            network: { additionalIps: [], ip: pod.ip },
            labels: { 'io.kubernetes.pod.name': pod.spec.name, ...(hash ? { 'pod-template-hash': hash } : {}) },
        };
        writeFileSync(join(dir, `${pod.sandboxId}.json`), JSON.stringify({ status }));
    }
    return lab.runAsHost(
        buildVmProbeScript({ windowSeconds: 1 }),
        {
            SNATMON_PROBE_CRICTL: STANDIN_CRICTL_HOST,
            SNATMON_LAB_CRICTL_INSPECT_DIR: dir,
            SNATMON_LAB_CRICTL_JSON: join(dir, `${lab.pods[0]?.sandboxId ?? ''}.json`),
        },
        timeoutMs,
    );
}
