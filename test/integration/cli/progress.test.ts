import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';

import { createProgress, formatElapsed } from '../../../cli/progress.js';

function stream(isTTY: boolean) {
    const writes: string[] = [];
    return { writes, isTTY, write: (text: string) => writes.push(text) };
}

describe('progress', () => {
    it('on a terminal, redraws a spinner line with the elapsed time and ends with the total', async () => {
        mock.timers.enable({ apis: ['setInterval'] });
        try {
            const out = stream(true);
            let clock = 1_000;
            const progress = createProgress(out, { now: () => clock, intervalMs: 100 });
            let finish: (value: string) => void = () => undefined;
            const step = progress.step('Scanning', () => new Promise<string>((resolve) => (finish = resolve)));
            assert.deepEqual(out.writes, ['\r\x1b[2K⠋ Scanning 0.0s']);
            clock += 1_500;
            mock.timers.tick(100);
            clock += 61_000;
            mock.timers.tick(100);
            finish('done');
            assert.equal(await step, 'done');
            assert.deepEqual(out.writes, [
                '\r\x1b[2K⠋ Scanning 0.0s',
                '\r\x1b[2K⠙ Scanning 1.5s',
                '\r\x1b[2K⠹ Scanning 1m02s',
                '\r\x1b[2K✓ Scanning (1m02s)\n',
            ]);
            // The interval is gone: more time passing writes nothing.
            mock.timers.tick(1_000);
            assert.equal(out.writes.length, 4);
        } finally {
            mock.timers.reset();
        }
    });

    it('on a terminal, marks a failed step and passes the error on', async () => {
        const out = stream(true);
        const progress = createProgress(out, { now: () => 0 });
        await assert.rejects(
            progress.step('Investigating', () => Promise.reject(new Error('run command failed'))),
            /run command failed/,
        );
        assert.equal(out.writes.at(-1), '\r\x1b[2K✗ Investigating failed (0.0s)\n');
    });

    it('prints nothing when the stream is not a terminal, or the terminal is dumb', async () => {
        for (const [out, env] of [
            [stream(false), {}],
            [stream(true), { TERM: 'dumb' }],
        ] as const) {
            const progress = createProgress(out, { env });
            assert.equal(progress.enabled, false);
            assert.equal(await progress.step('Scanning', () => Promise.resolve(42)), 42);
            await assert.rejects(
                progress.step('Failing', () => Promise.reject(new Error('x'))),
                /x/,
            );
            assert.deepEqual(out.writes, []);
        }
    });

    it('formats elapsed time in tenths under a minute, minutes and seconds above', () => {
        assert.equal(formatElapsed(0), '0.0s');
        assert.equal(formatElapsed(59_949), '59.9s');
        assert.equal(formatElapsed(60_000), '1m00s');
        assert.equal(formatElapsed(3_725_000), '62m05s');
    });
});
