import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { SHRINK_LEVELS, shrinkFinding } from '../../../shared/findings/shrink.js';
import { fillerCulprit, sampleAnalysis, sampleFinding } from './sample.js';

function bigFinding() {
    const analysis = sampleAnalysis(0);
    for (let i = 1; i <= 3_000; i++) analysis.culprits.push(fillerCulprit(i, 30));
    // Out of rank order on purpose: shrinking must keep the top culprits by ports held, not the first ones.
    analysis.culprits.reverse();
    return sampleFinding({ analysis });
}

describe('shrinkFinding', () => {
    it('gets smaller at every level and says what it cut', () => {
        const finding = bigFinding();
        const original = JSON.stringify(finding).length;
        let previous = original;
        for (let level = 1; level <= SHRINK_LEVELS; level++) {
            const shrunk = shrinkFinding(finding, level, original);
            const size = JSON.stringify(shrunk).length;
            assert.ok(size < previous, `level ${level}: ${size} >= ${previous}`);
            assert.ok(shrunk.truncated && shrunk.truncated.notes.length > 0);
            assert.equal(shrunk.truncated.originalBytes, original);
            previous = size;
        }
    });

    it('keeps the culprits holding the most ports', () => {
        const shrunk = shrinkFinding(bigFinding(), 3, 0);
        assert.equal(shrunk.analysis?.culprits.length, 50);
        assert.equal(shrunk.analysis.culprits[0]?.pod, 'nginx');
        const held = shrunk.analysis.culprits.map((c) => c.snatPortsHeld);
        assert.deepEqual(
            held,
            [...held].sort((a, b) => b - a),
        );
    });

    it('drops the analysis at the last level but names the top culprits', () => {
        const shrunk = shrinkFinding(bigFinding(), SHRINK_LEVELS, 0);
        assert.equal(shrunk.analysis, undefined);
        assert.match(shrunk.truncated?.notes.join(' ') ?? '', /analysis dropped \(3,?001 culprits.*default\/nginx/);
        assert.equal(shrunk.failedConnections, 1523);
    });
});
