/**
 * Text that pods control (names, namespaces, owner kinds and names, process names) made inert before any channel
 * sees it: no control or bidi characters, no invisible ones, a sane length. Each channel then escapes it for its own
 * markup (teams.ts, slack.ts, the HTML pages); chat channels also break anything a link detector could take for a
 * link (`defang`), since both Teams and Slack turn bare URLs and domains into links.
 */

/** Longest workload, pod or namespace text shown; Kubernetes names are at most 253 characters, most far shorter. */
export const MAX_NAME_CHARS = 96;

// C0 and C1 controls, DEL, soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width and bidi marks,
// line/paragraph separators, embeddings, overrides and isolates, invisible operators, BOM, interlinear annotations,
// and Unicode tag characters.
const UNSAFE =
    /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]|\udb40[\udc00-\udc7f]/g;

const SEGMENTER = new Intl.Segmenter('en', { granularity: 'grapheme' });

/** Strips what a reader cannot see or that reorders text, marks where it was (U+FFFD), and cuts to `max` characters. */
export function inert(text: string, max = MAX_NAME_CHARS): string {
    const clean = text.replace(UNSAFE, '\ufffd').replace(/\ufffd{2,}/g, '\ufffd');
    // Cut between graphemes, so an emoji or a letter with its accents is never split.
    const graphemes = Array.from(SEGMENTER.segment(clean), (s) => s.segment);
    return graphemes.length > max ? `${graphemes.slice(0, Math.max(1, max - 1)).join('')}…` : clean;
}

/**
 * A Kubernetes kind: the API server accepts any non-empty string in an ownerReference, but real kinds are Go type
 * names or CRD kinds (whose lowercase form must be a DNS-1035 label).
 */
export function isKubernetesKind(kind: string): boolean {
    return /^[A-Za-z]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$/.test(kind);
}

/** Breaks what a link detector would take for a URL, an address or a domain: `evil[.]example`, `https[:]//`. */
export function defang(text: string): string {
    return text
        .replace(/:\/\//g, '[:]//')
        .replace(/(?<=[\p{L}\p{N}])\.(?=[\p{L}\p{N}])/gu, '[.]')
        .replace(/@/g, '[@]');
}
