/**
 * Reading what run command printed (run-probe.sh's framed parts) when workloads put hostile text into it: a process
 * command line carrying a fake pod list (it shows up in the probe's lsns section), a pod whose owner name carries the
 * markers. The culprits must keep the names the real pod list gives them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { analyzeRunCommandOutput } from '../../../shared/probe/analyzeProbe.js';
import {
    formatRunCommandOutput,
    podListItem,
    randomBoundary,
    readRunCommandOutput,
    runCommandOutputFor,
    wrapperErrorOutput,
} from '../../../shared/probe/runCommandOutput.js';
import { readFixture } from '../../helpers/paths.js';

const raw = readFixture('probe', 'probe-raw.txt');
const pods = readFixture('probe', 'pods.json');
const expected = JSON.parse(readFixture('probe', 'expected.json')) as { privateCidrs: string[] };
const options = { privateCidrs: expected.privateCidrs };

/** A pod list naming the attacker: every pod IP of the node, owned by "attacker". */
const FAKE_PODS = JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: [10, 11, 12].map((n) => ({
        metadata: { name: `attacker-${n}`, namespace: 'evil', uid: `00000000-0000-4000-8000-0000000000${n}` },
        status: { podIPs: [{ ip: `10.244.0.${n}` }] },
    })),
});

/** The probe output with one more lsns line: a process whose command line is `text`. */
function withLsnsLine(text: string): string {
    const at = raw.indexOf('\n', raw.indexOf('/run/netns/')) + 1;
    return `${raw.slice(0, at)}4026532999 net       1 4242 root          9 /run/netns/x ${text}\n${raw.slice(at)}`;
}

function culpritNames(text: string): string[] {
    return analyzeRunCommandOutput(text, options).analysis.culprits.map((c) => `${c.namespace ?? ''}/${c.pod ?? ''}`);
}

describe('run command output', () => {
    const honest = culpritNames(runCommandOutputFor(raw, pods));

    it('names the culprits from the pod list the wrapper framed', () => {
        assert.deepEqual(honest, ['shop/egress-api-7c9f8d6b5-x2x9q', 'shop/web-5d8f7c9b4-k8m2p', 'data/db-sync-0']);
    });

    it('takes no pod list from a process command line in the probe output', () => {
        const boundary = randomBoundary();
        const fakes = [
            // The old wrapper's markers, as one line and as lines of their own.
            `sh -c #snatmon-pods begin ${FAKE_PODS} #snatmon-pods end`,
            `x\n#snatmon-pods begin\n${FAKE_PODS}\n#snatmon-pods end`,
            // A whole run command output of its own, with a boundary the attacker chose.
            formatRunCommandOutput({
                pods: { items: (JSON.parse(FAKE_PODS) as { items: Record<string, unknown>[] }).items.map(podListItem) },
                probe: raw,
                wrapper: ['phase=Succeeded'],
                boundary,
            }),
        ];
        for (const fake of fakes) {
            const output = runCommandOutputFor(withLsnsLine(fake), pods);
            assert.deepEqual(culpritNames(output), honest, `fake: ${fake.slice(0, 60)}`);
            // Unframed, the same probe output is read as probe output, and the fake list is no pod list either.
            const bare = analyzeRunCommandOutput(withLsnsLine(fake), options);
            assert.ok(bare.analysis.culprits.every((c) => c.namespace !== 'evil'));
        }
    });

    it('keeps every pod when an owner name carries the markers', () => {
        const document = JSON.parse(pods) as { items: { metadata: { ownerReferences: { name: string }[] } }[] };
        for (const item of document.items) {
            const owner = item.metadata.ownerReferences[0];
            if (owner) owner.name = `${owner.name}#snatmon-pods end\n--${randomBoundary()} end name=pods`;
        }
        const output = readRunCommandOutput(runCommandOutputFor(raw, JSON.stringify(document)));
        assert.equal(output.podList.status, 'ok');
        const names = culpritNames(runCommandOutputFor(raw, JSON.stringify(document)));
        assert.deepEqual(names, honest);
    });

    it('reads the boundary from the first line only, and a part only once', () => {
        const real = runCommandOutputFor(raw, pods);
        // Noise before the header: not run-probe.sh output, so the text is taken as probe output (and is none).
        const shifted = analyzeRunCommandOutput(`noise\n${real}`, options);
        assert.equal(shifted.probe.error, 'no probe output found (the first line is not its header)');
        assert.deepEqual(shifted.analysis.culprits, []);
        // A second pods part (which would need the boundary) does not replace the first.
        const boundary = /boundary=([0-9a-f]+)/.exec(real)?.[1] ?? '';
        const twice = real.replace(
            `--${boundary} done\n`,
            `--${boundary} section name=pods kind=pods status=ok\n${FAKE_PODS}\n--${boundary} end name=pods\n--${boundary} done\n`,
        );
        assert.deepEqual(culpritNames(twice), honest);
    });

    it('never frames anything from hostile lines anywhere in the probe output', () => {
        const lines = raw.split('\n');
        fc.assert(
            fc.property(
                fc.array(
                    fc.tuple(
                        fc.nat(lines.length - 1),
                        fc.constantFrom(
                            '#snatmon-pods begin',
                            '#snatmon-pods end',
                            '#snatmon-run version=1 boundary=00',
                            FAKE_PODS,
                            '--',
                        ),
                        fc.string({ maxLength: 20 }),
                    ),
                    { maxLength: 6 },
                ),
                (edits) => {
                    const copy = [...lines];
                    for (const [index, marker, text] of edits) copy.splice(index + 1, 0, `${marker}${text}`);
                    const output = readRunCommandOutput(runCommandOutputFor(copy.join('\n'), pods));
                    assert.equal(output.pods?.includes('attacker'), false);
                    assert.equal(output.podList.status, 'ok');
                },
            ),
            { numRuns: 200 },
        );
    });

    it('says why there is no probe output when the wrapper gave up', () => {
        const result = analyzeRunCommandOutput(
            wrapperErrorOutput('error=timeout phase=Pending waiting=ImagePullBackOff'),
        );
        assert.equal(result.probe.error, 'the run command wrapper reported timeout');
        assert.equal(result.probe.wrapper.waiting, 'ImagePullBackOff');
    });

    it('notes pods left out of the list, and a list that could not be read', () => {
        const document = JSON.parse(pods) as { items: Record<string, unknown>[] };
        const items = document.items.map(podListItem);
        const boundary = randomBoundary();
        const cut = formatRunCommandOutput({
            pods: { items: items.slice(0, 2), total: 3 },
            probe: raw,
            wrapper: [],
            boundary,
        });
        const partial = analyzeRunCommandOutput(cut, options);
        assert.deepEqual(partial.probe.podList, { status: 'ok', items: 3, kept: 2, dropped: 1 });
        assert.ok(partial.analysis.notes.some((n) => n.startsWith('1 of 3 pods were left out of the pod list')));
        const failed = formatRunCommandOutput({
            pods: { failed: 'kubectl-get-pods-failed' },
            probe: raw,
            wrapper: [],
            boundary,
        });
        const unnamed = analyzeRunCommandOutput(failed, options);
        assert.equal(unnamed.probe.podList.status, 'failed');
        assert.ok(
            unnamed.analysis.notes.some((n) => n.includes('pod list could not be read (kubectl-get-pods-failed)')),
        );
    });
});
