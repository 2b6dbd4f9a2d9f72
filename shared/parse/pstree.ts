import { splitLines } from './lines.js';
import type { PstreeChain } from './records.js';
import { type ParseResult, SkipCollector } from './skipped.js';

/**
 * Reads `pstree -aps PID` output, one tree or several concatenated, with ASCII or UTF-8 (-U) line drawing;
 * the compact form without -a (`systemd(1)---bash(19832)`) gives PIDs only, as it prints no arguments.
 *
 * Each tree's `pid` is, in order of preference: the PID on a `pstree ... PID` command line echoed just before the
 * tree (`# pstree -aps 19832`), `targetPid` when the tree contains it, else the end of the tree's single-child
 * chain (threads ignored). That last rule is right whenever the target has no child process of its own; with
 * -s the ancestors always form such a chain, but a target with exactly one child looks like its child's ancestor.
 *
 * `pids` lists thread IDs too (`{name},tid` lines), as pstree prints them.
 *
 * `shimId` comes from the nearest container runtime process above (or at) the target:
 * containerd-shim* `-id` (the pod sandbox ID with shim v2), shim v1's `-workdir` last directory, CRI-O conmon's
 * `-c/--cid`, then `-u/--cuuid`, then the ID in its `-b` bundle path (conmon's `-c` is the container ID, not the
 * sandbox's). pstree cuts lines at the terminal width (132 columns when not a terminal) unless given -l, and the cut
 * can glue the next argument onto the ID or cut the ID short, so a 64-hex run is taken as the ID and shorter values
 * are kept as prefixes; a trailing `...` (older pstree, and the masked `2xxxf...` in the runbook) is dropped.
 */
export function parsePstree(text: string, targetPid?: number): ParseResult<PstreeChain> {
    const skips = new SkipCollector();
    const records: PstreeChain[] = [];
    let chain: Node[] | undefined;
    let stack: Node[] = [];
    let echoedPid: number | undefined;
    let chainEchoedPid: number | undefined;

    const finish = (): void => {
        if (chain) {
            const record = toChain(chain, chainEchoedPid, targetPid);
            if (record) records.push(record);
            else for (const node of chain) skips.skip(node.line, node.text, 'thread lines without their process');
        }
        chain = undefined;
        stack = [];
    };

    splitLines(text).forEach((line, index) => {
        if (line.trim() === '') return;
        const echo = COMMAND_ECHO.exec(line);
        if (echo) {
            finish();
            const pid = /(\d+)\s*$/.exec(echo[1] ?? '')?.[1];
            echoedPid = pid === undefined ? undefined : Number(pid);
            return;
        }
        const nodes = readLine(line, index + 1);
        if (nodes.length === 0) {
            skips.skip(index + 1, line, 'not a pstree process line');
            return;
        }
        for (const node of nodes) {
            if (node.depth === 0 || !chain) {
                finish();
                chain = [];
                chainEchoedPid = echoedPid;
                echoedPid = undefined;
            }
            while (stack.length > 0 && (stack[stack.length - 1]?.depth ?? 0) >= node.depth) stack.pop();
            node.parent = stack[stack.length - 1];
            chain.push(node);
            stack.push(node);
        }
    });
    finish();
    return { records, skipped: skips.result() };
}

interface Node {
    name: string;
    pid: number;
    thread: boolean;
    args: string;
    /** Column where the process name starts: how deep in the tree it is. */
    depth: number;
    parent?: Node;
    line: number;
    text: string;
}

const COMMAND_ECHO = /^\s*(?:[$#>]\s*)?(?:sudo\s+)?pstree(\s.*)?$/;
// Tree drawing before the name: spaces, |, `, -, +, and the UTF-8 box characters of -U.
const PREFIX = /^[\s|`+\-│├└─┬]*/u;
const ARGS_FORM = /^(\{)?([^{},]+?)\}?,(\d+)(?:,[^\s,]+)?(?:\s+(.*))?$/;
const COMPACT_NODE = /(\{)?([^\s(){}]*)\}?\((\d+)\)/g;

function readLine(text: string, line: number): Node[] {
    const body = text.replace(PREFIX, '');
    const depth = text.length - body.length;
    const match = ARGS_FORM.exec(body);
    if (match) {
        const thread = match[1] === '{';
        return [{ name: match[2] ?? '', pid: Number(match[3]), thread, args: match[4] ?? '', depth, line, text }];
    }
    const nodes: Node[] = [];
    // Without any name(PID) the scan below would only cost time on long lines.
    if (!/\(\d+\)/.test(text)) return nodes;
    for (const m of text.matchAll(COMPACT_NODE)) {
        const name = (m[2] ?? '').replace(PREFIX, '');
        // Connectors such as --- or -+- precede the name inside the match; a thread's column is its brace.
        const column = m.index + m[0].length - m[0].replace(PREFIX, '').length;
        nodes.push({ name, pid: Number(m[3]), thread: m[1] === '{', args: '', depth: column, line, text });
    }
    return nodes;
}

function toChain(nodes: Node[], echoedPid: number | undefined, targetPid: number | undefined): PstreeChain | undefined {
    const processes = nodes.filter((n) => !n.thread);
    if (processes.length === 0) return undefined;
    const byPid = (pid: number | undefined) => processes.find((n) => n.pid === pid);
    const target = byPid(echoedPid) ?? byPid(targetPid) ?? endOfChain(processes);
    const chain: PstreeChain = { pid: target.pid, pids: nodes.map((n) => n.pid) };
    for (let node: Node | undefined = target; node; node = node.parent) {
        const id = runtimeId(node);
        if (id) {
            chain.shimId = id;
            break;
        }
    }
    return chain;
}

function endOfChain(processes: Node[]): Node {
    const root = processes[0] as Node;
    let node = root;
    for (;;) {
        const children = processes.filter((n) => n.parent === node);
        if (children.length !== 1 || !children[0]) return node;
        node = children[0];
    }
}

function runtimeId(node: Node): string | undefined {
    if (node.thread) return undefined;
    const words = node.args.split(/\s+/).filter((w) => w !== '');
    // comm keeps 15 characters: containerd-shim-runc-v2 shows as containerd-shim, docker's v1 shim as docker-containe.
    if (/^(?:containerd-shim|docker-containe)/.test(node.name)) {
        const id = flag(words, /^--?id$/, /^--?id=?(.+)$/);
        if (id) return cleanId(id);
        const workdir = flag(words, /^--?workdir$/, /^--?workdir=(.+)$/);
        return workdir ? cleanId(workdir.split('/').filter(Boolean).pop()) : undefined;
    }
    if (node.name === 'conmon') {
        // GLib options: -c ID, -cID, --cid ID, --cid=ID.
        const id =
            flag(words, /^(?:-c|--cid)$/, /^(?:-c|--cid=)(.+)$/) ??
            flag(words, /^(?:-u|--cuuid)$/, /^(?:-u|--cuuid=)(.+)$/);
        if (id) return cleanId(id);
        return cleanId(/overlay-containers\/([0-9a-f]+)/.exec(node.args)?.[1]);
    }
    return undefined;
}

function flag(words: string[], separate: RegExp, joined: RegExp): string | undefined {
    for (let i = 0; i < words.length; i++) {
        const word = words[i] ?? '';
        if (separate.test(word)) return words[i + 1];
        const value = joined.exec(word)?.[1];
        if (value) return value;
    }
    return undefined;
}

function cleanId(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    const full = /^[0-9a-f]{64}/.exec(value)?.[0];
    if (full) return full;
    const trimmed = value.replace(/\.{3}$/, '');
    return trimmed === '' || trimmed.startsWith('-') ? undefined : trimmed;
}
