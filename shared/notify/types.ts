export type ChannelName = 'teams' | 'slack' | 'webhook';

export const CHANNEL_NAMES: readonly ChannelName[] = ['teams', 'slack', 'webhook'];

/** Where a channel's messages go. Both values are secrets: never logged, stored or put in an error message. */
export interface ChannelTarget {
    url: string;
    /** HMAC key of the generic webhook's signature header. */
    secret?: string;
}

export type ChannelTargets = Partial<Record<ChannelName, ChannelTarget>>;

/** The subset of InvocationContext (or console) the notifier writes to. */
export interface Log {
    info(message: string): void;
    warn(message: string): void;
    error(message: string): void;
}

export const silentLog: Log = { info: () => undefined, warn: () => undefined, error: () => undefined };
