/**
 * The shape of a JSON body: every path with the type found there (`properties.agentPoolProfiles[].count: number`).
 * Array items merge into one `[]` step. The contract test compares the local Azure's answers with the documented
 * examples by shape, not by value.
 */
export type JsonType = 'string' | 'number' | 'boolean' | 'null' | 'object' | 'array';

export function jsonShape(
    value: unknown,
    path = '',
    shape = new Map<string, Set<JsonType>>(),
): Map<string, Set<JsonType>> {
    const type: JsonType =
        value === null
            ? 'null'
            : Array.isArray(value)
              ? 'array'
              : (typeof value as 'string' | 'number' | 'boolean' | 'object');
    if (path !== '') shape.set(path, (shape.get(path) ?? new Set()).add(type));
    if (Array.isArray(value)) {
        for (const item of value) jsonShape(item, `${path}[]`, shape);
    } else if (type === 'object') {
        for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
            jsonShape(child, path === '' ? key : `${path}.${key}`, shape);
        }
    }
    return shape;
}

export interface ShapeRules {
    /** Paths the product reads: both bodies must have them, with one type. */
    read: readonly string[];
    /**
     * Paths the stand-in may serve that this example lacks, each with the documented example that has them (at `path`
     * there, when it sits elsewhere): what lies under them must have that example's shape.
     */
    elsewhere?: Readonly<Record<string, OtherExample>>;
    /** Paths no documented example shows, each with why serving them is right (where the spec defines them). */
    undocumented?: Readonly<Record<string, string>>;
    /** Paths under which keys are data, not names (tags, a map keyed by id): only the container is compared. */
    maps?: readonly string[];
}

export interface OtherExample {
    name: string;
    body: unknown;
    path?: string;
}

function under(path: string, prefix: string): boolean {
    return path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[]`);
}

/** What differs between a stand-in answer and a documented example, in sentences; empty when they agree. */
export function shapeDrift(local: unknown, documented: unknown, rules: ShapeRules): string[] {
    const inMap = (path: string) => (rules.maps ?? []).some((m) => path !== m && under(path, m));
    const ours = jsonShape(local);
    const theirs = jsonShape(documented);
    const problems: string[] = [];
    const others = new Map<string, Map<string, Set<JsonType>>>();
    const typesMatch = (path: string, types: Set<JsonType>, documentedTypes: Set<JsonType>, where: string) => {
        for (const type of types) {
            if (!documentedTypes.has(type)) {
                problems.push(`${path} is ${type} in the stand-in, ${[...documentedTypes].join(' or ')} in ${where}`);
            }
        }
    };
    for (const [path, types] of ours) {
        if (inMap(path)) continue;
        const documentedTypes = theirs.get(path);
        if (documentedTypes) {
            typesMatch(path, types, documentedTypes, 'the example');
            continue;
        }
        if (Object.keys(rules.undocumented ?? {}).some((p) => under(path, p))) continue;
        const [prefix, other] = Object.entries(rules.elsewhere ?? {}).find(([p]) => under(path, p)) ?? [];
        if (prefix === undefined || other === undefined) {
            problems.push(`the stand-in serves ${path}, which the documented example does not have`);
            continue;
        }
        const shape = others.get(other.name) ?? jsonShape(other.body);
        others.set(other.name, shape);
        const otherPath = `${other.path ?? prefix}${path.slice(prefix.length)}`;
        const otherTypes = shape.get(otherPath);
        if (otherTypes) typesMatch(path, types, otherTypes, other.name);
        else problems.push(`the stand-in serves ${path}, which neither the example nor ${other.name} has`);
    }
    for (const path of rules.read) {
        if (!theirs.has(path)) problems.push(`the documented example has no ${path}, which the product reads`);
        if (!ours.has(path)) problems.push(`the stand-in does not serve ${path}, which the product reads`);
    }
    return problems;
}
