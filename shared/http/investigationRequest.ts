/**
 * Validates POST /api/investigations bodies before anything reaches a manifest, a shell or Azure: a cluster
 * resource ID and exactly one of a Kubernetes node name or a backend IP.
 */
import { isIpAddress } from '../parse/address.js';
import type { ClusterRef } from '../resourceId.js';
import { payloadTooLarge } from './body.js';
import { badRequest as bad, NODE_NAME, parseClusterParameter } from './parameters.js';

export const MAX_BODY_BYTES = 8 * 1024;

export interface InvestigationRequest {
    cluster: ClusterRef;
    node?: string;
    backendIp?: string;
}

const FIELDS = new Set(['cluster', 'node', 'backendIp']);
export const INVESTIGATION_REQUEST_EXAMPLE =
    '{"cluster": "/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.ContainerService/managedClusters/<name>", "node": "aks-nodepool1-12345678-vmss000000"}';

export function parseInvestigationRequest(body: string): InvestigationRequest {
    if (Buffer.byteLength(body, 'utf8') > MAX_BODY_BYTES) {
        throw payloadTooLarge(MAX_BODY_BYTES, INVESTIGATION_REQUEST_EXAMPLE);
    }
    let data: unknown;
    try {
        data = JSON.parse(body) as unknown;
    } catch {
        throw bad(`Request body is not valid JSON; expected ${INVESTIGATION_REQUEST_EXAMPLE}`);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data))
        throw bad(`Expected a JSON object: ${INVESTIGATION_REQUEST_EXAMPLE}`);
    // A misspelt field ("nodeName") would otherwise read as a missing one.
    const unknown = Object.keys(data).filter((key) => !FIELDS.has(key));
    if (unknown.length > 0) {
        const shown = unknown.slice(0, 3).map((key) => JSON.stringify(key.slice(0, 40)));
        throw bad(`Unknown field ${shown.join(', ')}; expected "cluster" and one of "node" or "backendIp"`);
    }
    const { cluster, node, backendIp } = data as Record<string, unknown>;
    if (typeof cluster !== 'string') throw bad('Field "cluster" must be a string holding an AKS resource ID');
    const ref = parseClusterParameter(cluster, 'Field "cluster"');
    if ((node === undefined) === (backendIp === undefined)) {
        throw bad(
            'Give exactly one of "node" (a Kubernetes node name) or "backendIp" (the node IP the load balancer reports)',
        );
    }
    if (node !== undefined) {
        if (typeof node !== 'string') throw bad('Field "node" must be a string');
        // ASCII only: look-alike letters, quotes, spaces, slashes and YAML or shell characters all fail here.
        if (!NODE_NAME.test(node)) {
            throw bad(
                'Field "node" is not a Kubernetes node name: expected lowercase letters, digits, "-" and "." (RFC 1123), at most 253 characters',
            );
        }
        return { cluster: ref, node };
    }
    if (typeof backendIp !== 'string') throw bad('Field "backendIp" must be a string');
    if (!isIpAddress(backendIp)) {
        throw bad('Field "backendIp" is not an IPv4 or IPv6 address');
    }
    return { cluster: ref, backendIp };
}
