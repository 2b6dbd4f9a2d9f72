/**
 * Progress for long steps (a scan, a probe run, starting the local store): a line with a spinner and the elapsed
 * time on a terminal, rewritten in place, and a final line with the total. When the stream is not a terminal
 * (a pipe, CI, a file) it prints nothing, so machine-read output stays clean.
 */
import type { OutputStream } from './io.js';
import { escapeTerminalText } from './terminalText.js';

export type ProgressStream = OutputStream;

export interface Progress {
    /** Runs `work`, showing `label` with the elapsed time until it settles. */
    step<T>(label: string, work: () => Promise<T>): Promise<T>;
    /** Whether anything is shown at all. */
    readonly enabled: boolean;
}

export interface ProgressOptions {
    env?: NodeJS.ProcessEnv;
    /** Milliseconds clock; default performance.now. */
    now?: () => number;
    /** How often the line is redrawn; default 100 ms. */
    intervalMs?: number;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const CLEAR_LINE = '\r\x1b[2K';

export function formatElapsed(ms: number): string {
    const seconds = ms / 1000;
    if (seconds < 60) return `${seconds.toFixed(1)}s`;
    const whole = Math.floor(seconds);
    return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
}

export function createProgress(stream: ProgressStream, options: ProgressOptions = {}): Progress {
    // TERM=dumb terminals cannot move the cursor back; treat them like a pipe.
    const enabled = stream.isTTY === true && options.env?.TERM !== 'dumb';
    // The spinner's own escapes go to the terminal as they are; the label may name things Azure or a workload chose.
    const out = stream.raw ?? stream;
    const now = options.now ?? (() => performance.now());
    const intervalMs = options.intervalMs ?? 100;
    return {
        enabled,
        async step<T>(text: string, work: () => Promise<T>): Promise<T> {
            if (!enabled) return work();
            const label = escapeTerminalText(text);
            const started = now();
            let frame = 0;
            const draw = () => {
                const spinner = FRAMES[frame++ % FRAMES.length] ?? '-';
                out.write(`${CLEAR_LINE}${spinner} ${label} ${formatElapsed(now() - started)}`);
            };
            draw();
            const timer = setInterval(draw, intervalMs);
            // A spinner must never keep the process alive on its own.
            timer.unref();
            try {
                const result = await work();
                out.write(`${CLEAR_LINE}✓ ${label} (${formatElapsed(now() - started)})\n`);
                return result;
            } catch (err) {
                out.write(`${CLEAR_LINE}✗ ${label} failed (${formatElapsed(now() - started)})\n`);
                throw err;
            } finally {
                clearInterval(timer);
            }
        },
    };
}

/** For callers that take a Progress but were given none. */
export const quietProgress: Progress = { enabled: false, step: (_label, work) => work() };
