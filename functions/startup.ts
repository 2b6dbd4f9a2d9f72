import { app } from '@azure/functions';

import { ConfigError, loadConfig } from '../shared/config.js';

/**
 * Reads the app settings once when the worker starts, so a malformed one is named in the log right away rather
 * than at the first timer tick or request. It only logs: every invocation then fails with the same ConfigError
 * (getAppServices), which Functions monitoring counts; failing the worker's start would hide that behind restarts.
 * ConfigError messages never hold a webhook URL or secret (config.ts leaves those values out).
 */
export function checkSettingsAtStart(
    env: NodeJS.ProcessEnv = process.env,
    log: (line: string) => void = (line) => {
        console.error(line);
    },
): ConfigError | undefined {
    try {
        loadConfig(env);
        return undefined;
    } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        log(`aks-snat-monitor cannot run until this app setting is fixed: ${err.message}`);
        return err;
    }
}

// Request bodies arrive as streams, so a handler can stop reading at its cap (shared/http/body.ts) instead of the
// worker holding the whole body (up to the host's 100 MB limit) before the handler sees it.
app.setup({ enableHttpStream: true });

app.hook.appStart(() => {
    checkSettingsAtStart();
});
