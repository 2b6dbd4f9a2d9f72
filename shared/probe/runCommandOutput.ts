/** What run command prints for a probe: the probe's output and, after it, the wrapper's pod list (run-probe.sh). */

const PODS_BEGIN = '#snatmon-pods begin';
const PODS_END = '#snatmon-pods end';

/** Takes the wrapper's pod list (`kubectl get pods` for the node, between marker lines) out of the command output. */
export function splitRunCommandOutput(output: string): { probeOutput: string; pods?: string } {
    const begin = output.indexOf(PODS_BEGIN);
    if (begin === -1) return { probeOutput: output };
    const end = output.indexOf(PODS_END, begin);
    const pods = output.slice(begin + PODS_BEGIN.length, end === -1 ? output.length : end).trim();
    const rest = end === -1 ? '' : output.slice(end + PODS_END.length);
    return { probeOutput: output.slice(0, begin) + rest, ...(pods === '' ? {} : { pods }) };
}
