/**
 * Reads what an Azure Monitor alert in the common alert schema says about SNAT: whether it fired or resolved, which
 * load balancers it is about (its targets, or a LoadBalancerResourceId / _ResourceId dimension of a log search alert
 * over ALBHealthEvent) and which backend IPs (the BackendIPAddress dimension of a load balancer metric alert).
 * Everything is checked before it reaches Azure, a queue or a manifest; anything else in the payload is ignored.
 */
import { badRequest } from '../http/parameters.js';
import { HttpError } from '../http/responses.js';
import { isIpAddress } from '../parse/address.js';

/** The common alert schema caps an alert at 256 KB (docs/platform-facts.md, `common-alert-schema.max-size`). */
export const MAX_ALERT_BYTES = 256 * 1024;
export const COMMON_ALERT_SCHEMA_ID = 'azureMonitorCommonAlertSchema';
/** A split-by-dimension alert names one backend IP; more than this is not an alert about a few nodes. */
const MAX_BACKEND_IPS = 50;

export interface AlertSignal {
    condition: 'Fired' | 'Resolved';
    /** The alert rule's name, for log lines (cut to 200 characters). */
    rule: string;
    signalType: string;
    /** Load balancer resource IDs the alert names, as given. */
    loadBalancers: string[];
    /** Target resource IDs that are not load balancers, for the 404 message. */
    otherTargets: string[];
    backendIps: string[];
    /** ALBHealthEvent's HealthEventType (SnatPortExhaustion, HighSnatPortUsage, ...) when the alert carries it. */
    healthEventType?: string;
}

const LOAD_BALANCER_ID =
    /^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/\s]{1,90}\/providers\/Microsoft\.Network\/loadBalancers\/[^/\s]{1,80}$/i;
const LOAD_BALANCER_DIMENSIONS = new Set(['loadbalancerresourceid', '_resourceid', 'resourceid']);
const BACKEND_IP_DIMENSIONS = new Set(['backendipaddress']);
const HEALTH_EVENT_DIMENSIONS = new Set(['healtheventtype']);

export function parseCommonAlert(body: string): AlertSignal {
    if (Buffer.byteLength(body, 'utf8') > MAX_ALERT_BYTES) {
        throw new HttpError(413, 'PayloadTooLarge', `Alert body over ${MAX_ALERT_BYTES} bytes`);
    }
    let data: unknown;
    try {
        data = JSON.parse(body) as unknown;
    } catch {
        throw badRequest('Alert body is not valid JSON; expected an Azure Monitor common alert schema payload');
    }
    const root = object(data, 'the alert body');
    if (root.schemaId !== COMMON_ALERT_SCHEMA_ID) {
        throw badRequest(
            `Expected "schemaId": "${COMMON_ALERT_SCHEMA_ID}": turn on the common alert schema for this action ` +
                '(useCommonAlertSchema) in the action group',
        );
    }
    const payload = object(root.data, '"data"');
    const essentials = object(payload.essentials, '"data.essentials"');
    const condition = essentials.monitorCondition;
    if (condition !== 'Fired' && condition !== 'Resolved') {
        throw badRequest('Field "data.essentials.monitorCondition" must be "Fired" or "Resolved"');
    }
    const targets = essentials.alertTargetIDs ?? [];
    if (!Array.isArray(targets) || !targets.every((t) => typeof t === 'string' && t.length <= 1024)) {
        throw badRequest('Field "data.essentials.alertTargetIDs" must be a list of resource IDs');
    }
    const signal: AlertSignal = {
        condition,
        rule: typeof essentials.alertRule === 'string' ? essentials.alertRule.slice(0, 200) : '',
        signalType: typeof essentials.signalType === 'string' ? essentials.signalType.slice(0, 40) : '',
        loadBalancers: [],
        otherTargets: [],
        backendIps: [],
    };
    for (const target of targets as string[]) addTarget(signal, target);
    for (const { name, value } of dimensions(payload.alertContext)) {
        const key = name.toLowerCase();
        if (BACKEND_IP_DIMENSIONS.has(key)) {
            if (!isIpAddress(value)) {
                throw badRequest(`Dimension "${name}" is not an IPv4 or IPv6 address`);
            }
            if (!signal.backendIps.includes(value)) signal.backendIps.push(value);
        } else if (LOAD_BALANCER_DIMENSIONS.has(key) && LOAD_BALANCER_ID.test(value)) {
            addTarget(signal, value);
        } else if (HEALTH_EVENT_DIMENSIONS.has(key) && /^[A-Za-z]{1,64}$/.test(value)) {
            signal.healthEventType = value;
        }
    }
    if (signal.backendIps.length > MAX_BACKEND_IPS) {
        throw badRequest(
            `The alert names ${signal.backendIps.length} backend IPs; at most ${MAX_BACKEND_IPS} are taken`,
        );
    }
    return signal;
}

function addTarget(signal: AlertSignal, id: string): void {
    const list = LOAD_BALANCER_ID.test(id) ? signal.loadBalancers : signal.otherTargets;
    if (!list.some((known) => known.toLowerCase() === id.toLowerCase())) list.push(id);
}

function object(value: unknown, what: string): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw badRequest(`Expected ${what} to be a JSON object (Azure Monitor common alert schema)`);
    }
    return value as Record<string, unknown>;
}

/**
 * Dimensions of every criterion: metric alerts and log search alerts (API 2021-08-01 on) keep them in
 * alertContext.condition.allOf[].dimensions, older log search alerts in alertContext.Dimensions.
 */
function dimensions(alertContext: unknown): { name: string; value: string }[] {
    if (typeof alertContext !== 'object' || alertContext === null) return [];
    const context = alertContext as Record<string, unknown>;
    const lists: unknown[] = [context.Dimensions];
    const condition = context.condition as { allOf?: unknown } | null | undefined;
    if (typeof condition === 'object' && condition !== null && Array.isArray(condition.allOf)) {
        for (const criterion of condition.allOf as unknown[]) {
            if (typeof criterion === 'object' && criterion !== null) {
                lists.push((criterion as { dimensions?: unknown }).dimensions);
            }
        }
    }
    const found: { name: string; value: string }[] = [];
    for (const list of lists) {
        if (!Array.isArray(list)) continue;
        for (const entry of list as unknown[]) {
            const { name, value } = (entry ?? {}) as { name?: unknown; value?: unknown };
            if (typeof name === 'string' && typeof value === 'string' && name.length <= 128 && value.length <= 1024) {
                found.push({ name, value });
            }
        }
    }
    return found;
}
