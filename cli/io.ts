/** A stream a command writes to; `isTTY` as on process.stdout. */
export interface OutputStream {
    write(text: string): unknown;
    isTTY?: boolean;
    /** Under a terminal-escaping wrapper: the stream itself, for our own control sequences (the spinner). */
    raw?: OutputStream;
}

/** What a CLI command may touch, passed in so tests can run commands in-process and read what they printed. */
export interface CliIo {
    stdout: OutputStream;
    stderr: OutputStream;
    stdin: NodeJS.ReadableStream & { isTTY?: boolean };
    env: NodeJS.ProcessEnv;
    cwd: string;
}

/** Bad usage or an unreadable input: the command prints the message and exits 2. */
export class UsageError extends Error {
    override readonly name = 'UsageError';
}

/**
 * A failure the command explains: `message` is one line that says what to do; `cause` is what the service or the SDK
 * said, which the dispatcher shows only with --verbose.
 */
export class CliError extends Error {
    override readonly name = 'CliError';
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** `scan`: the scan ran, but some clusters or subscriptions could not be read. */
export const EXIT_PARTIAL = 3;

export function processIo(): CliIo {
    return {
        stdout: process.stdout,
        stderr: process.stderr,
        stdin: process.stdin,
        env: process.env,
        cwd: process.cwd(),
    };
}
