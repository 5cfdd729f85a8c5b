import { parseDuration } from './duration.js';

/**
 * A timer trigger's schedule: `@every 30s` (a period, counted from the epoch, so that every node agrees on its
 * ticks), a five-field cron expression in UTC (`minute hour day-of-month month day-of-week`, with `*`, lists,
 * ranges and steps, day-of-week 0–7 with 0 and 7 Sunday), or `@hourly`, `@daily`, `@weekly`, `@monthly`.
 */
export type Schedule = { kind: 'every'; ms: number } | { kind: 'cron'; fields: CronFields };

interface CronFields {
  minutes: ReadonlySet<number>;
  hours: ReadonlySet<number>;
  days: ReadonlySet<number>;
  months: ReadonlySet<number>;
  weekdays: ReadonlySet<number>;
  /** Cron's rule: when both day fields are restricted, a day matching either is a day to fire. */
  eitherDay: boolean;
}

/** The shortest period: a timer fires at most once a second. */
export const MIN_PERIOD_MS = 1000;

const MACROS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

const FIELDS: readonly (readonly [string, number, number])[] = [
  ['minute', 0, 59],
  ['hour', 0, 23],
  ['day of month', 1, 31],
  ['month', 1, 12],
  ['day of week', 0, 7],
];

/** The schedule, or a sentence saying what is wrong with it. */
export function parseSchedule(text: string): Schedule | string {
  const trimmed = text.trim();
  if (trimmed.startsWith('@every ')) {
    const ms = parseDuration(trimmed.slice('@every '.length));
    if (ms === undefined || !Number.isInteger(ms))
      return 'must be @every followed by a duration such as 30s, 5m or 1h';
    if (ms < MIN_PERIOD_MS) return `must be at least @every 1s`;
    return { kind: 'every', ms };
  }
  const expression = MACROS[trimmed] ?? trimmed;
  const parts = expression.split(/\s+/);
  if (parts.length !== 5)
    return 'must be a cron expression of five fields (minute hour day-of-month month day-of-week), @every 30s, or @hourly/@daily/@weekly/@monthly';
  const sets: Set<number>[] = [];
  for (const [i, part] of parts.entries()) {
    const [name, min, max] = FIELDS[i] as readonly [string, number, number];
    const set = parseField(part, min, max);
    if (typeof set === 'string') return `${name} "${part}": ${set}`;
    sets.push(set);
  }
  const [minutes, hours, days, months, weekdays] = sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  if (weekdays.delete(7)) weekdays.add(0);
  return {
    kind: 'cron',
    fields: {
      minutes,
      hours,
      days,
      months,
      weekdays,
      eitherDay: parts[2] !== '*' && parts[4] !== '*',
    },
  };
}

function parseField(text: string, min: number, max: number): Set<number> | string {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const match = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(item);
    if (!match) return 'must be *, a number, a range a-b, a list, or any of these with /step';
    const step = match[4] === undefined ? 1 : Number(match[4]);
    const from = match[1] === '*' ? min : Number(match[2]);
    // `5/15` is from 5 to the end in steps of 15, as in Vixie cron.
    const to =
      match[1] === '*' || (match[3] === undefined && match[4] !== undefined)
        ? max
        : Number(match[3] ?? match[2]);
    if (from < min || to > max || from > to) return `must lie within ${min}–${max}`;
    if (step < 1) return 'a step must be at least 1';
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
/** How far back a cron schedule is searched for its latest time: beyond any schedule's gap (29 February). */
const SEARCH_DAYS = 366 * 8;

/** Whether a cron schedule fires on the UTC day starting at `day` (epoch ms). */
function firesOn(f: CronFields, day: number): boolean {
  const date = new Date(day);
  const dom = f.days.has(date.getUTCDate());
  const dow = f.weekdays.has(date.getUTCDay());
  return f.months.has(date.getUTCMonth() + 1) && (f.eitherDay ? dom || dow : dom && dow);
}

const firesAt = (f: CronFields, minuteOfDay: number): boolean =>
  f.hours.has(Math.floor(minuteOfDay / 60)) && f.minutes.has(minuteOfDay % 60);

/**
 * The latest time at or before `now` (epoch ms) at which the schedule fires, or undefined if none in the
 * searched past. A node fires a timer for this time once; times it missed before it are not fired.
 */
export function latestFiring(schedule: Schedule, now: number): number | undefined {
  if (schedule.kind === 'every') return Math.floor(now / schedule.ms) * schedule.ms;
  const f = schedule.fields;
  const today = Math.floor(now / DAY) * DAY;
  for (let d = 0; d < SEARCH_DAYS; d++) {
    const day = today - d * DAY;
    if (!firesOn(f, day)) continue;
    const lastMinute = d === 0 ? Math.floor((now - day) / MINUTE) : 24 * 60 - 1;
    for (let m = lastMinute; m >= 0; m--) if (firesAt(f, m)) return day + m * MINUTE;
  }
  return undefined;
}

/**
 * The first time after `after` (epoch ms) at which the schedule fires, or undefined if none in the searched
 * future (`0 0 30 2 *`): a node sleeps until then rather than looking at its timers again and again.
 */
export function nextFiring(schedule: Schedule, after: number): number | undefined {
  if (schedule.kind === 'every') return (Math.floor(after / schedule.ms) + 1) * schedule.ms;
  const f = schedule.fields;
  const today = Math.floor(after / DAY) * DAY;
  for (let d = 0; d < SEARCH_DAYS; d++) {
    const day = today + d * DAY;
    if (!firesOn(f, day)) continue;
    const firstMinute = d === 0 ? Math.floor((after - day) / MINUTE) + 1 : 0;
    for (let m = firstMinute; m < 24 * 60; m++) if (firesAt(f, m)) return day + m * MINUTE;
  }
  return undefined;
}
