/**
 * What a test file starts in `before` (servers, Azurite), closed in `after` even when the setup failed half-way.
 * `[a, b] = await Promise.all([startA(), startB()])` assigns nothing when one start fails, so `after` cannot close
 * the others, and their open sockets keep the test process alive: on a loaded machine an Azurite start that timed
 * out left vmRunCommandOnce.test.js running until it was killed.
 */
export class TestResources {
    private readonly pending: Promise<(() => Promise<unknown>) | undefined>[] = [];

    /** Starts one resource; `close` runs in `closeAll` once the start has succeeded, even after a sibling failed. */
    add<T>(starting: Promise<T>, close: (value: T) => Promise<unknown>): Promise<T> {
        this.pending.push(starting.then((value) => () => close(value)).catch(() => undefined));
        return starting;
    }

    /** Waits for every start to settle, then closes those that started. */
    async closeAll(): Promise<void> {
        const closers = await Promise.all(this.pending.splice(0));
        await Promise.all(closers.flatMap((close) => (close ? [close()] : [])));
    }
}
