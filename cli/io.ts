/** What a CLI command may touch, passed in so tests can run commands in-process and read what they printed. */
export interface CliIo {
    stdout: { write(text: string): unknown; isTTY?: boolean };
    stderr: { write(text: string): unknown; isTTY?: boolean };
    stdin: NodeJS.ReadableStream;
    env: NodeJS.ProcessEnv;
    cwd: string;
}

/** Bad usage or an unreadable input: the command prints the message and exits 2. */
export class UsageError extends Error {
    override readonly name = 'UsageError';
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function processIo(): CliIo {
    return {
        stdout: process.stdout,
        stderr: process.stderr,
        stdin: process.stdin,
        env: process.env,
        cwd: process.cwd(),
    };
}
