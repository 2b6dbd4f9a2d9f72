import { splitLines } from './lines.js';
import type { CgroupInfo } from './records.js';
import { type ParseResult, SkipCollector } from './skipped.js';

/**
 * Reads /proc/PID/cgroup (cgroup v1 `N:controllers:path`, v2 `0::path`, or both on hybrid hosts) and finds the
 * Kubernetes pod and container in the path, for the systemd driver
 * (`kubepods-besteffort-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope`) and the cgroupfs driver
 * (`/kubepods/besteffort/pod<uid>/<id>`). Several files may be given: behind `==> /proc/PID/cgroup <==` headers
 * (`head`), as `/proc/PID/cgroup:line` (`grep -H`), or plainly one after another (a new process starts when a
 * hierarchy repeats). One record per process, from its line that names the most (container, then pod), with
 * what is missing filled from its other lines. `pid` applies to input that names no PID itself.
 */
export function parseCgroup(text: string, pid?: number): ParseResult<CgroupInfo> {
    const skips = new SkipCollector();
    const blocks: Block[] = [];
    let block: Block | undefined;
    const start = (blockPid: number | undefined): Block => {
        block = { pid: blockPid, lines: [] };
        blocks.push(block);
        return block;
    };

    splitLines(text).forEach((line, index) => {
        if (line.trim() === '') return;
        const header = /^==> (.*) <==$/.exec(line.trim());
        if (header) {
            start(pidOf(header[1] ?? ''));
            return;
        }
        let body = line;
        let current = block;
        const grep = CGROUP_LINE.test(line) ? null : /^(\S*\/proc\/(\d+|self)\/cgroup):(.*)$/.exec(line);
        if (grep) {
            const grepPid = pidOf(grep[1] ?? '');
            if (!current || current.pid !== grepPid) current = start(grepPid);
            body = grep[3] ?? '';
        }
        const match = CGROUP_LINE.exec(body);
        if (!match) {
            skips.skip(index + 1, line, 'not a hierarchy-ID:controllers:path line');
            return;
        }
        const entry: Entry = { hierarchy: `${match[1] ?? ''}:${match[2] ?? ''}`, path: match[3] ?? '' };
        if (!current || current.lines.some((e) => e.hierarchy === entry.hierarchy)) current = start(undefined);
        current.lines.push(entry);
    });

    const records: CgroupInfo[] = [];
    for (const b of blocks) {
        const info = merge(b.lines);
        if (!info) continue;
        // The caller's pid can only belong to input that holds a single process.
        const blockPid = b.pid ?? (blocks.length === 1 ? pid : undefined);
        records.push(blockPid === undefined ? info : { pid: blockPid, ...info });
    }
    return { records, skipped: skips.result() };
}

const CGROUP_LINE = /^(\d+):([^:]*):(.*)$/;

interface Entry {
    hierarchy: string;
    path: string;
}

interface Block {
    pid: number | undefined;
    lines: Entry[];
}

function pidOf(name: string): number | undefined {
    const found = /\/proc\/(\d+)\//.exec(name)?.[1];
    return found === undefined ? undefined : Number(found);
}

function merge(entries: Entry[]): CgroupInfo | undefined {
    const infos = entries.map((e) => describe(e.path));
    const score = (info: CgroupInfo) => (info.containerId ? 2 : 0) + (info.podUid ? 1 : 0);
    let best = infos[0];
    for (const info of infos) if (best && score(info) > score(best)) best = info;
    if (!best) return undefined;
    const found = best;
    const pick = <K extends 'podUid' | 'qosClass' | 'containerId' | 'runtime'>(key: K): CgroupInfo[K] =>
        found[key] ?? infos.find((info) => info[key] !== undefined)?.[key];
    const merged: CgroupInfo = { path: best.path };
    const podUid = pick('podUid');
    if (podUid) merged.podUid = podUid;
    const containerId = pick('containerId');
    if (containerId) merged.containerId = containerId;
    const qosClass = pick('qosClass');
    if (qosClass) merged.qosClass = qosClass;
    const runtime = pick('runtime');
    if (runtime) merged.runtime = runtime;
    return merged;
}

// systemd driver: kubepods-pod<uid>.slice (Guaranteed) or kubepods-<qos>-pod<uid>.slice, with - in the UID as _;
// kind and other nested kubelets prefix the slice names (kubelet-kubepods-...).
const SYSTEMD_POD = /(?:^|-)kubepods-(?:(besteffort|burstable)-)?pod([0-9a-f_]{32,36})\.slice$/;
const CGROUPFS_POD = /^pod([0-9a-f-]{32,36})$/;
// crio-conmon-<id>.scope holds CRI-O's monitor for the container, not the container's own processes.
const SCOPE = /^(cri-containerd|crio|crio-conmon|docker)-([0-9a-f]{64})\.scope$/;
const RUNTIMES = { 'cri-containerd': 'containerd', crio: 'cri-o', 'crio-conmon': 'cri-o', docker: 'docker' } as const;

function describe(path: string): CgroupInfo {
    const info: CgroupInfo = { path };
    const segments = path.split('/');
    segments.forEach((segment, i) => {
        const systemd = SYSTEMD_POD.exec(segment);
        if (systemd) {
            info.podUid = (systemd[2] ?? '').replace(/_/g, '-');
            info.qosClass = (systemd[1] as 'besteffort' | 'burstable' | undefined) ?? 'guaranteed';
            return;
        }
        const cgroupfs = CGROUPFS_POD.exec(segment);
        const parent = segments[i - 1];
        const grandparent = segments[i - 2];
        if (cgroupfs && (parent === 'kubepods' || grandparent === 'kubepods')) {
            info.podUid = cgroupfs[1];
            info.qosClass = parent === 'besteffort' || parent === 'burstable' ? parent : 'guaranteed';
            return;
        }
        const scope = SCOPE.exec(segment);
        if (scope && info.podUid) {
            info.containerId = scope[2];
            info.runtime = RUNTIMES[scope[1] as keyof typeof RUNTIMES];
            return;
        }
        // cgroupfs driver: the container's directory is its bare ID, right under the pod's.
        if (info.podUid && !info.containerId && /^[0-9a-f]{64}$/.test(segment) && CGROUPFS_POD.test(parent ?? '')) {
            info.containerId = segment;
        }
    });
    return info;
}
