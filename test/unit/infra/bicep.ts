import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import { Language, type Node, Parser } from 'web-tree-sitter';

import { repoRoot } from '../../helpers/paths.js';

/** Reads infra/*.bicep through the tree-sitter-bicep grammar: no Bicep compiler is needed (or available) here. */

export const infraDir = join(repoRoot, 'infra');

const grammarPath = join(repoRoot, 'node_modules', 'tree-sitter-bicep', 'tree-sitter-bicep.wasm');

let parser: Promise<Parser> | undefined;

function bicepParser(): Promise<Parser> {
    parser ??= (async () => {
        await Parser.init();
        const p = new Parser();
        p.setLanguage(await Language.load(grammarPath));
        return p;
    })();
    return parser;
}

export interface BicepFile {
    /** Absolute path. */
    path: string;
    /** Path relative to the repository root, for messages. */
    rel: string;
    root: Node;
}

export async function parseBicepSource(source: string, path = '<memory>.bicep'): Promise<BicepFile> {
    const tree = (await bicepParser()).parse(source);
    if (!tree) throw new Error(`tree-sitter returned no tree for ${path}`);
    return { path, rel: relative(repoRoot, path), root: tree.rootNode };
}

export async function parseBicep(path: string): Promise<BicepFile> {
    return parseBicepSource(readFileSync(path, 'utf8'), path);
}

export function listBicepFiles(dir = infraDir): string[] {
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.bicep'))
        .map((name) => join(dir, name))
        .sort();
}

/** Every infra/**.bicep file, parsed once per test process. */
let allFiles: Promise<BicepFile[]> | undefined;
export function parseInfra(): Promise<BicepFile[]> {
    allFiles ??= Promise.all(listBicepFiles().map(parseBicep));
    return allFiles;
}

export async function infraFile(relToInfra: string): Promise<BicepFile> {
    const path = join(infraDir, relToInfra);
    const file = (await parseInfra()).find((f) => f.path === path);
    if (!file) throw new Error(`${relToInfra} not found under infra/`);
    return file;
}

export interface SyntaxProblem {
    kind: 'ERROR' | 'MISSING';
    line: number;
    column: number;
    text: string;
}

export function syntaxProblems(root: Node): SyntaxProblem[] {
    const problems: SyntaxProblem[] = [];
    const walk = (node: Node): void => {
        if (node.isError || node.isMissing) {
            problems.push({
                kind: node.isMissing ? 'MISSING' : 'ERROR',
                line: node.startPosition.row + 1,
                column: node.startPosition.column + 1,
                text: node.text.split('\n')[0]?.slice(0, 80) ?? '',
            });
        }
        for (const child of node.children) if (child) walk(child);
    };
    walk(root);
    return problems;
}

export function where(file: BicepFile, node: Node): string {
    return `${file.rel}:${node.startPosition.row + 1}`;
}

/** Named children without comments, which tree-sitter attaches wherever they occur. */
export function parts(node: Node): Node[] {
    return node.namedChildren.filter((c): c is Node => c !== null && c.type !== 'comment');
}

function first(node: Node, type: string): Node | undefined {
    return parts(node).find((c) => c.type === type);
}

export type DeclarationKind = 'param' | 'var' | 'resource' | 'module' | 'output';

const declarationNodeTypes: Record<DeclarationKind, string> = {
    param: 'parameter_declaration',
    var: 'variable_declaration',
    resource: 'resource_declaration',
    module: 'module_declaration',
    output: 'output_declaration',
};

export interface Declaration {
    kind: DeclarationKind;
    name: string;
    node: Node;
    /** resource/module: the type or path string; otherwise undefined. */
    target?: string;
    /** var/output: the value; param: the default; resource/module: the body (object, for_statement or if_statement). */
    value?: Node;
    /** Decorator call names and nodes, e.g. description, secure. */
    decorators: Node[];
}

/** Top-level declarations of one kind, in source order. */
export function declarations(file: BicepFile, kind: DeclarationKind): Declaration[] {
    const result: Declaration[] = [];
    const top = file.root.children.filter((c): c is Node => c !== null);
    top.forEach((node, index) => {
        if (node.type !== declarationNodeTypes[kind]) return;
        const named = parts(node);
        const name = first(node, 'identifier')?.text;
        if (!name) throw new Error(`${where(file, node)}: ${kind} without a name`);
        const previous = top[index - 1];
        const decorators = previous?.type === 'decorators' ? parts(previous).filter((d) => d.type === 'decorator') : [];
        const target = kind === 'resource' || kind === 'module' ? first(node, 'string') : undefined;
        const hasValue = node.children.some((c) => c?.type === '=');
        result.push({
            kind,
            name,
            node,
            decorators,
            ...(target ? { target: stringValue(file, target) } : {}),
            ...(hasValue ? { value: named[named.length - 1] } : {}),
        });
    });
    return result;
}

export function declaration(file: BicepFile, kind: DeclarationKind, name: string): Declaration {
    const found = declarations(file, kind).find((d) => d.name === name);
    if (!found) throw new Error(`${file.rel}: no ${kind} named ${name}`);
    return found;
}

/** The text of a string literal; throws on interpolated strings, whose value is only known at deployment. */
export function stringValue(file: BicepFile, node: Node): string {
    if (node.type !== 'string') throw new Error(`${where(file, node)}: expected a string, got ${node.type}`);
    const content = parts(node);
    if (content.some((c) => c.type === 'interpolation')) {
        throw new Error(`${where(file, node)}: expected a plain string, got ${node.text}`);
    }
    return content.map((c) => (c.type === 'escape_sequence' ? unescape(c.text) : c.text)).join('');
}

const escapes: Record<string, string> = { "\\'": "'", '\\\\': '\\', '\\n': '\n', '\\r': '\r', '\\t': '\t', '\\$': '$' };

function unescape(sequence: string): string {
    const unicode = /^\\u\{([0-9a-fA-F]+)\}$/.exec(sequence);
    if (unicode?.[1]) return String.fromCodePoint(parseInt(unicode[1], 16));
    const plain = escapes[sequence];
    if (plain === undefined) throw new Error(`unknown Bicep escape ${sequence}`);
    return plain;
}

export interface Property {
    key: string;
    keyNode: Node;
    value: Node;
}

export function objectProperties(file: BicepFile, node: Node): Property[] {
    if (node.type !== 'object') throw new Error(`${where(file, node)}: expected an object, got ${node.type}`);
    return (
        parts(node)
            .filter((c) => c.type === 'object_property')
            // The grammar wraps nested child resources in object_property too; they are not properties.
            .filter((c) => parts(c)[0]?.type !== 'resource_declaration')
            .map((p) => {
                const [keyNode, ...rest] = parts(p);
                const value = rest[rest.length - 1];
                if (!keyNode || !value) throw new Error(`${where(file, p)}: malformed property`);
                const key = keyNode.type === 'string' ? stringValue(file, keyNode) : keyNode.text;
                return { key, keyNode, value };
            })
    );
}

export function property(file: BicepFile, node: Node, key: string): Node | undefined {
    return objectProperties(file, node).find((p) => p.key === key)?.value;
}

export function arrayElements(node: Node): Node[] {
    if (node.type !== 'array') throw new Error(`expected an array, got ${node.type}`);
    return parts(node);
}

/** The object a resource or module declares, looking through `[for ...: ...]` and `if (...)`. */
export function body(file: BicepFile, decl: Declaration): Node {
    let node = decl.value;
    while (node && node.type !== 'object') {
        if (node.type === 'for_statement') node = node.childForFieldName('body') ?? undefined;
        else if (node.type === 'if_statement') node = parts(node).find((c) => c.type === 'object');
        else throw new Error(`${where(file, decl.node)}: unexpected ${node.type} as the body of ${decl.name}`);
    }
    if (!node) throw new Error(`${where(file, decl.node)}: ${decl.name} has no body`);
    return node;
}

export function isLoop(decl: Declaration): boolean {
    return decl.value?.type === 'for_statement';
}

/** What a `[for x in <iterable>: ...]` loops over. */
export function loopIterable(decl: Declaration): Node | undefined {
    if (decl.value?.type !== 'for_statement') return undefined;
    const children = decl.value.children.filter((c): c is Node => c !== null);
    const afterIn = children.slice(children.findIndex((c) => c.type === 'in') + 1);
    return afterIn.find((c) => c.isNamed && c.type !== 'comment');
}

/** Calls a function by name, e.g. concat(...) or sys.concat(...). */
export function callName(node: Node): string | undefined {
    if (node.type !== 'call_expression') return undefined;
    return node.childForFieldName('function')?.text.replace(/^(sys|az)\./, '');
}

export function callArguments(node: Node): Node[] {
    const args = node.childForFieldName('arguments');
    return args ? parts(args) : [];
}

/** Resolves a module path relative to the file that declares it. */
export function modulePath(file: BicepFile, decl: Declaration): string {
    if (decl.kind !== 'module' || !decl.target) throw new Error(`${decl.name} is not a local module`);
    if (/^(br|ts)[:/]/.test(decl.target)) throw new Error(`${where(file, decl.node)}: registry module ${decl.target}`);
    return resolve(dirname(file.path), decl.target);
}

/**
 * Statically evaluates the small Bicep subset our templates use for lists and flags: literals, arrays,
 * objects, concat(), union() of objects, ternaries and variables. `bindings` fixes params and loop variables.
 */
export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

export function evaluate(file: BicepFile, node: Node, bindings: Record<string, Value> = {}): Value {
    switch (node.type) {
        case 'string':
            return stringValue(file, node);
        case 'number':
            return Number(node.text);
        case 'boolean':
            return node.text === 'true';
        case 'null':
            return null;
        case 'parenthesized_expression': {
            const inner = parts(node)[0];
            if (!inner) throw new Error(`${where(file, node)}: empty parentheses`);
            return evaluate(file, inner, bindings);
        }
        case 'array':
            return arrayElements(node).map((e) => evaluate(file, e, bindings));
        case 'object':
            return Object.fromEntries(
                objectProperties(file, node).map((p) => [p.key, evaluate(file, p.value, bindings)]),
            );
        case 'identifier': {
            if (node.text in bindings) return bindings[node.text] ?? null;
            const variable = declarations(file, 'var').find((d) => d.name === node.text);
            if (variable?.value) return evaluate(file, variable.value, bindings);
            throw new Error(`${where(file, node)}: ${node.text} is not bound`);
        }
        case 'unary_expression': {
            const argument = node.childForFieldName('argument');
            if (node.childForFieldName('operator')?.text !== '!' || !argument) break;
            return !evaluate(file, argument, bindings);
        }
        case 'ternary_expression': {
            const condition = node.childForFieldName('condition');
            const consequence = node.childForFieldName('consequence');
            const alternative = node.childForFieldName('alternative');
            if (!condition || !consequence || !alternative) break;
            const test = evaluate(file, condition, bindings);
            if (typeof test !== 'boolean') throw new Error(`${where(file, node)}: condition is not a bool`);
            return evaluate(file, test ? consequence : alternative, bindings);
        }
        case 'call_expression': {
            const name = callName(node);
            const args = callArguments(node).map((a) => evaluate(file, a, bindings));
            if (name === 'concat' && args.every(Array.isArray)) return (args as Value[][]).flat();
            if (name === 'union' && args.every((a) => a !== null && typeof a === 'object' && !Array.isArray(a))) {
                return Object.assign({}, ...args) as Value;
            }
            break;
        }
    }
    throw new Error(`${where(file, node)}: cannot evaluate ${node.type} \`${node.text.slice(0, 60)}\``);
}

export interface KeyValue {
    file: BicepFile;
    value: Node;
}

/**
 * Every key an object-valued expression can have, over all branches of ternaries and union() arguments, with the
 * value expressions given to it. Follows variables, and follows a param into the `params:` of each module
 * declaration that passes it.
 */
export function possibleKeys(file: BicepFile, node: Node, files: BicepFile[]): Map<string, KeyValue[]> {
    const keys = new Map<string, KeyValue[]>();
    const add = (more: Map<string, KeyValue[]>): void => {
        more.forEach((values, key) => keys.set(key, [...(keys.get(key) ?? []), ...values]));
    };
    switch (node.type) {
        case 'object':
            objectProperties(file, node).forEach((p) => {
                add(new Map([[p.key, [{ file, value: p.value }]]]));
            });
            return keys;
        case 'parenthesized_expression':
            parts(node).forEach((inner) => {
                add(possibleKeys(file, inner, files));
            });
            return keys;
        case 'ternary_expression':
            for (const field of ['consequence', 'alternative']) {
                const branch = node.childForFieldName(field);
                if (branch) add(possibleKeys(file, branch, files));
            }
            return keys;
        case 'call_expression':
            if (callName(node) !== 'union') break;
            callArguments(node).forEach((arg) => {
                add(possibleKeys(file, arg, files));
            });
            return keys;
        case 'identifier': {
            const variable = declarations(file, 'var').find((d) => d.name === node.text);
            if (variable?.value) return possibleKeys(file, variable.value, files);
            const param = declarations(file, 'param').find((d) => d.name === node.text);
            if (!param) break;
            const callers = moduleArguments(file, param.name, files);
            if (callers.length === 0 && param.value) return possibleKeys(file, param.value, files);
            if (callers.length === 0) throw new Error(`${where(file, node)}: no module passes param ${param.name}`);
            callers.forEach(({ caller, value }) => {
                add(possibleKeys(caller, value, files));
            });
            return keys;
        }
    }
    throw new Error(`${where(file, node)}: cannot list the keys of ${node.type} \`${node.text.slice(0, 60)}\``);
}

/** The expressions other files pass as `param` when they use `file` as a module. */
export function moduleArguments(
    file: BicepFile,
    param: string,
    files: BicepFile[],
): { caller: BicepFile; value: Node }[] {
    const found: { caller: BicepFile; value: Node }[] = [];
    for (const caller of files) {
        for (const decl of declarations(caller, 'module')) {
            if (modulePath(caller, decl) !== file.path) continue;
            const params = property(caller, body(caller, decl), 'params');
            const value = params ? property(caller, params, param) : undefined;
            if (value) found.push({ caller, value });
        }
    }
    return found;
}

/** Walks nested object properties, e.g. at(file, site, 'properties', 'functionAppConfig', 'runtime'). */
export function at(file: BicepFile, node: Node, ...keys: string[]): Node {
    let current = node;
    for (const key of keys) {
        const next = property(file, current, key);
        if (!next) throw new Error(`${where(file, current)}: no property ${key}`);
        current = next;
    }
    return current;
}
