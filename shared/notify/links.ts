/**
 * Links a person can open from a message: the finding as a page (signed in with Entra ID, never a function key), the
 * runbook entry for its kind, and the Azure portal views of the cluster and of its SNAT metrics.
 */
export interface PageLinks {
    finding(findingId: string): string;
    /** `anchor` is a runbook entry (runbook.ts). */
    runbook(anchor: string): string;
    /** The on-call report, which a finding page links to. */
    report?: string;
}

export const PORTAL_URL = 'https://portal.azure.com';

/** The app's own pages under its public base URL (functions/pages.ts). */
export function appPageLinks(baseUrl: string): PageLinks {
    const base = baseUrl.replace(/\/+$/, '');
    return {
        finding: (id) => `${base}/api/pages/findings/${encodeURIComponent(id)}`,
        runbook: (anchor) => `${base}/api/pages/runbook#${encodeURIComponent(anchor)}`,
        report: `${base}/api/pages/report`,
    };
}

/** A resource's blade in the portal; the resource ID is the portal's own path for it. */
export function portalResource(resourceId: string, blade = 'overview'): string {
    return `${PORTAL_URL}/#resource${resourceId.split('/').map(encodeURIComponent).join('/')}/${blade}`;
}
