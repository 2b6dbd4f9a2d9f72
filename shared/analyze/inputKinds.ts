/** The tool outputs the analyzer reads (`snat-monitor analyze --<kind> F`, probe sections). */
export const INPUT_KINDS = [
    'tcptracer',
    'ig',
    'lsns',
    'pstree',
    'crictl',
    'netstat',
    'ss',
    'conntrack',
    'cgroup',
    'pods',
] as const;
export type InputKind = (typeof INPUT_KINDS)[number];
