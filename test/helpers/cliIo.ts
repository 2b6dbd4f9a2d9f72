import { Readable } from 'node:stream';

import type { CliIo } from '../../cli/io.js';
import { repoRoot } from './paths.js';

export interface CapturedIo extends CliIo {
    out(): string;
    err(): string;
}

/** A CliIo that records what a command printed; stdin is the given text. */
export function captureIo(stdin: string | Uint8Array = '', env: NodeJS.ProcessEnv = {}): CapturedIo {
    let out = '';
    let err = '';
    return {
        stdout: {
            write: (text: string) => {
                out += text;
                return true;
            },
        },
        stderr: {
            write: (text: string) => {
                err += text;
                return true;
            },
        },
        stdin: Readable.from([Buffer.from(stdin)]),
        env,
        cwd: repoRoot,
        out: () => out,
        err: () => err,
    };
}
