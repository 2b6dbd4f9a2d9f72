/** Times as people read them in an alert: UTC to the minute, no milliseconds, and how long ago. */
import type { ReadingWindow } from '../findings/types.js';

function parts(iso: string): { date: string; time: string } {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return { date: '', time: iso };
    const text = d.toISOString();
    return { date: text.slice(0, 10), time: text.slice(11, 16) };
}

/** `2026-12-07 07:24 UTC`. */
export function utcTime(iso: string): string {
    const { date, time } = parts(iso);
    return `${date} ${time} UTC`.trim();
}

/** `07:16-07:21 UTC on 2026-12-07`, or both dates when the window spans midnight. */
export function utcRange(window: ReadingWindow): string {
    const start = parts(window.start);
    const end = parts(window.end);
    if (start.date === end.date) return `${start.time}-${end.time} UTC on ${start.date}`;
    return `${start.date} ${start.time} - ${end.date} ${end.time} UTC`;
}

export function windowMinutes(window: ReadingWindow): number {
    return Math.max(0, Math.round((Date.parse(window.end) - Date.parse(window.start)) / 60_000));
}

/** `45 min`, `2 h 5 min`, `3 d 4 h`. */
export function duration(minutes: number): string {
    const m = Math.max(0, Math.round(minutes));
    if (m < 60) return `${m} min`;
    if (m < 24 * 60) return `${Math.floor(m / 60)} h${m % 60 ? ` ${m % 60} min` : ''}`;
    const hours = Math.floor(m / 60);
    return `${Math.floor(hours / 24)} d${hours % 24 ? ` ${hours % 24} h` : ''}`;
}

/** `12 min ago` (or `just now`), from `iso` to `now`. */
export function ago(iso: string, now: string | Date): string {
    const minutes = ((typeof now === 'string' ? Date.parse(now) : now.getTime()) - Date.parse(iso)) / 60_000;
    if (!Number.isFinite(minutes)) return '';
    if (minutes < 1) return 'just now';
    return `${duration(minutes)} ago`;
}

/** `07:24 UTC (12 min ago)`: both forms, for pages and messages. */
export function whenText(iso: string, now: string | Date): string {
    return `${utcTime(iso)} (${ago(iso, now)})`;
}
