import { loadConfig } from '../config.js';
import { createMonitorServices, type MonitorServices } from './services.js';

let services: MonitorServices | undefined;

/**
 * The Functions app's services, built on first use from the app settings and reused by every invocation on the
 * instance. A missing or malformed setting throws ConfigError naming it, which fails the invocation visibly.
 */
export function getAppServices(): MonitorServices {
    services ??= createMonitorServices(loadConfig());
    return services;
}
