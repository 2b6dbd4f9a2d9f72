import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { CommandResult } from '../../../shared/detect/ports.js';
import { fallbackCause, kubeletRefusal, refusalFrom } from '../../../shared/probe/podRefusal.js';
import { randomBoundary, wrapperErrorOutput } from '../../../shared/probe/runCommandOutput.js';

const REJECTED = "Pod was rejected: Node didn't have enough resource:";

function result(fields: Partial<CommandResult>): CommandResult {
    return {
        command: 'sh ./run-probe.sh',
        executor: 'aksRunCommand',
        output: '',
        exitCode: undefined,
        durationMs: 1,
        failed: true,
        timedOut: false,
        truncated: false,
        ...fields,
    };
}

describe('the kubelet refusing the probe pod, in plain words', () => {
    it('names the resource and the numbers the kubelet gave', () => {
        assert.equal(
            refusalFrom('OutOfcpu', `${REJECTED} cpu, requested: 100, used: 3860, capacity: 3860`)?.text,
            "node's CPU fully requested, 3860m of 3860m, and the probe asked for 100m: the probe pod was refused (OutOfcpu)",
        );
        assert.equal(
            refusalFrom(
                'OutOfmemory',
                `${REJECTED} memory, requested: 134217728, used: 13211009024, capacity: 13211009024`,
            )?.text,
            "node's memory fully requested, 12599 MiB of 12599 MiB, and the probe asked for 128 MiB: the probe pod was " +
                'refused (OutOfmemory)',
        );
        assert.equal(
            refusalFrom('OutOfpods', undefined)?.text,
            'node at its max pods: the probe pod was refused (OutOfpods)',
        );
        assert.equal(
            refusalFrom('OutOfnvidia.com/gpu', `${REJECTED} nvidia.com/gpu, requested: 1, used: 4, capacity: 4`)?.text,
            'node out of nvidia.com/gpu, 4 of 4 requested: the probe pod was refused (OutOfnvidia.com/gpu)',
        );
    });

    it('reads the wrapper line run-probe.sh prints, %-encoded, and nothing a section could carry', () => {
        const line =
            "phase=Failed reason=OutOfpods message=Pod%20was%20rejected:%20Node%20didn't%20have%20enough%20resource:%20pods,%20requested:%201,%20used:%20110,%20capacity:%20110";
        const b = randomBoundary();
        const refusal = kubeletRefusal(
            `#snatmon-run version=1 boundary=${b}\n--${b} wrapper warning=logs-failed\n--${b} wrapper ${line}\n--${b} done\n`,
        );
        assert.deepEqual(
            { ...refusal },
            {
                reason: 'OutOfpods',
                resource: 'pods',
                requested: 1,
                used: 110,
                capacity: 110,
                text: 'node at its max pods, 110 of 110: the probe pod was refused (OutOfpods)',
            },
        );
        assert.equal(kubeletRefusal(wrapperErrorOutput('phase=Failed reason=DeadlineExceeded')), undefined);
        assert.equal(kubeletRefusal(wrapperErrorOutput('phase=Succeeded')), undefined);
        assert.equal(refusalFrom('OutOfpods;rm -rf /', undefined), undefined, 'reasons are words, nothing else');
        // A wrapper line without the run's boundary (a process command line, a pod name) says nothing.
        assert.equal(kubeletRefusal(`#snatmon-wrapper ${line}\n`), undefined);
    });

    it('sends the probe to the VM only for a refused pod or run command pod that never started', () => {
        const refused = result({
            exitCode: 5,
            output: wrapperErrorOutput('phase=Failed reason=OutOfpods'),
        });
        assert.equal(fallbackCause(refused)?.kind, 'podRefused');
        const unscheduled = result({
            reason: 'KubernetesPerformanceError: container command-x did not start within 30s',
        });
        assert.equal(fallbackCause(unscheduled)?.kind, 'runCommandPodUnschedulable');
        assert.equal(
            fallbackCause(result({ reason: 'KubernetesPerformanceError: x', executor: 'kubernetes' })),
            undefined,
        );
        assert.equal(fallbackCause(result({ exitCode: 4, output: wrapperErrorOutput('error=timeout') })), undefined);
        assert.equal(
            fallbackCause(result({ reason: 'AuthorizationFailed: no', refused: 'authorization' })),
            undefined,
            'a missing permission is not answered by another executor',
        );
    });
});
