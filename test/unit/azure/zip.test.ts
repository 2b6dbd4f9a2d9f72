import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { readZip } from '../../../cli/localAzure/zip.js';
import { createZip } from '../../../shared/azure/zip.js';

describe('createZip', () => {
    it('writes an archive Info-ZIP lists, tests and extracts, with modes', () => {
        const dir = mkdtempSync(join(tmpdir(), 'zip-test-'));
        try {
            const script = `#!/bin/sh\n${'echo probing\n'.repeat(50)}`;
            const archive = join(dir, 'context.zip');
            writeFileSync(
                archive,
                createZip([
                    { name: 'probe.sh', content: script, executable: true },
                    { name: 'manifests/pod.yaml', content: 'kind: Pod\n' },
                    { name: 'empty', content: '' },
                ]),
            );
            assert.match(execFileSync('unzip', ['-t', archive], { encoding: 'utf8' }), /No errors detected/);
            const listing = execFileSync('zipinfo', [archive], { encoding: 'utf8' });
            assert.match(listing, /-rwxr-xr-x .* defN .* probe\.sh/);
            assert.match(listing, /-rw-r--r-- .* stor .* manifests\/pod\.yaml/);
            assert.equal(execFileSync('unzip', ['-p', archive, 'probe.sh'], { encoding: 'utf8' }), script);
            assert.equal(execFileSync('unzip', ['-p', archive, 'empty'], { encoding: 'utf8' }), '');
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it('is byte-for-byte reproducible', () => {
        const entries = [{ name: 'a.txt', content: 'same' }];
        assert.deepEqual(createZip(entries), createZip(entries));
    });

    it('round-trips any file set through the local Azure reader', () => {
        fc.assert(
            fc.property(
                fc.uniqueArray(
                    fc.record({
                        name: fc.stringMatching(/^[a-z0-9_-]{1,12}(\/[a-z0-9_-]{1,8}(\.[a-z]{1,4})?)?$/),
                        content: fc.uint8Array({ maxLength: 2000 }),
                    }),
                    { selector: (e) => e.name, maxLength: 8 },
                ),
                (entries) => {
                    const files = readZip(createZip(entries));
                    assert.deepEqual(
                        [...files.keys()],
                        entries.map((e) => e.name),
                    );
                    for (const entry of entries) assert.deepEqual(files.get(entry.name), Buffer.from(entry.content));
                },
            ),
        );
    });

    it('refuses names that would escape the working directory, and duplicates', () => {
        assert.throws(() => createZip([{ name: '../x', content: '' }]), RangeError);
        assert.throws(() => createZip([{ name: '/etc/x', content: '' }]), RangeError);
        assert.throws(
            () =>
                createZip([
                    { name: 'a', content: '' },
                    { name: 'a', content: '' },
                ]),
            /Duplicate/,
        );
    });
});
