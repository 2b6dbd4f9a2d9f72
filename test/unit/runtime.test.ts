import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

describe('runtime', () => {
    it('runs on the Node 22 LTS that Azure Functions targets, brought by the project itself', () => {
        const major = Number(process.versions.node.split('.')[0]);
        assert.equal(major, 22, `expected Node 22, got ${process.versions.node}`);
    });
});
