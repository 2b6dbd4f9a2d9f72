/**
 * The timer trigger's schedule language, checked the way the Functions host will read it, so a bad
 * SNATMON_SCAN_SCHEDULE is named at start-up instead of the timer silently never firing. Azure Functions reads six
 * NCRONTAB fields, `{second} {minute} {hour} {day} {month} {day-of-week}`, each `*`, a value, a range `a-b`, a step
 * `/n` on either, or a comma-separated list of those; months and days may be English names or their abbreviations,
 * in any case; days of the week are 0-6 from Sunday (MicrosoftDocs/azure-docs
 * articles/azure-functions/functions-bindings-timer.md, "CRON expressions").
 */

interface Field {
    name: string;
    min: number;
    max: number;
    /** Names for values min, min + 1, ... (months from January, days from Sunday). */
    names?: readonly string[];
}

const MONTHS = [
    'january',
    'february',
    'march',
    'april',
    'may',
    'june',
    'july',
    'august',
    'september',
    'october',
    'november',
    'december',
];
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

const FIELDS: readonly Field[] = [
    { name: 'second', min: 0, max: 59 },
    { name: 'minute', min: 0, max: 59 },
    { name: 'hour', min: 0, max: 23 },
    { name: 'day', min: 1, max: 31 },
    { name: 'month', min: 1, max: 12, names: MONTHS },
    { name: 'day-of-week', min: 0, max: 6, names: DAYS },
];

/** Why `text` is not a six-field NCRONTAB schedule, in words that name the field; undefined when it is one. */
export function ncrontabProblem(text: string): string | undefined {
    const parts = text.trim().split(/\s+/);
    if (parts.length !== 6) {
        return `it has ${parts.length} field${parts.length === 1 ? '' : 's'}; expected six: {second} {minute} {hour} {day} {month} {day-of-week}`;
    }
    for (const [index, part] of parts.entries()) {
        const field = FIELDS[index];
        if (field === undefined) break;
        const problem = fieldProblem(part, field);
        if (problem !== undefined) return `field ${index + 1} (${field.name}) '${part}' ${problem}`;
    }
    return undefined;
}

function fieldProblem(part: string, field: Field): string | undefined {
    const range = field.names ? `${field.min}-${field.max} or a name` : `${field.min}-${field.max}`;
    for (const item of part.split(',')) {
        const [base = '', step, extra] = item.split('/');
        if (extra !== undefined) return `has two steps in '${item}'`;
        if (step !== undefined && !(/^\d{1,2}$/.test(step) && Number(step) >= 1)) {
            return `has step '${step}': expected a whole number from 1`;
        }
        if (base === '*') continue;
        const ends = base.split('-');
        if (ends.length > 2) return `has '${base}': expected a value or a range a-b`;
        for (const end of ends) {
            const value = valueOf(end, field);
            if (value === undefined) return `has '${end}': expected ${range}`;
        }
    }
    return undefined;
}

function valueOf(text: string, field: Field): number | undefined {
    if (/^\d{1,2}$/.test(text)) {
        const value = Number(text);
        return value >= field.min && value <= field.max ? value : undefined;
    }
    const lower = text.toLowerCase();
    // A name or an abbreviation of at least three letters: "Mon", "monday", "Jan".
    const index = lower.length >= 3 ? (field.names?.findIndex((name) => name.startsWith(lower)) ?? -1) : -1;
    return index >= 0 ? field.min + index : undefined;
}
