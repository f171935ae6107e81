import { EnsembleError, ErrorCode } from '@ensemble/protocol';
import { DateTime, Duration, type DurationLikeObject, IANAZone } from 'luxon';

/** Duration units the tools accept, largest first (the order luxon's `diff` needs). */
export const DURATION_UNITS = ['years', 'months', 'weeks', 'days', 'hours', 'minutes', 'seconds'] as const;
export type DurationUnit = (typeof DURATION_UNITS)[number];
export type DurationParts = Partial<Record<DurationUnit, number>>;

export interface ZonedTime {
  /** ISO 8601 with offset, e.g. `2025-03-14T15:09:26.000+01:00`. */
  iso: string;
  timezone: string;
  /** UTC offset like `+01:00`. */
  utc_offset: string;
  /** Human-readable, e.g. `Friday, March 14, 2025 at 3:09 PM CET`. */
  readable: string;
  day_of_week: string;
  unix_seconds: number;
}

/** Throws a model-actionable error unless `zone` is an IANA time zone name (or `UTC`). */
export function checkTimeZone(zone: string, field = 'timezone'): string {
  if (!IANAZone.isValidZone(zone)) {
    throw invalid(`Unknown time zone "${zone}" (${field}); use an IANA name such as "Europe/Paris", "America/New_York", "Asia/Tokyo" or "UTC"`);
  }
  return zone;
}

/**
 * Parses an ISO 8601 date or date-time. Without an offset in the text, it is read as local time in
 * `zone`; with one (`Z`, `+02:00`), the offset wins and the result is shown in `zone`.
 */
export function parseDateTime(text: string, zone: string, field: string): DateTime {
  const parsed = DateTime.fromISO(text.trim(), { zone, setZone: false });
  if (!parsed.isValid) {
    throw invalid(`Could not read "${text}" (${field}) as an ISO 8601 date or date-time; use e.g. "2025-03-14", "2025-03-14T15:09" or "2025-03-14T15:09:26Z"`);
  }
  return parsed.setZone(zone);
}

export function describe(time: DateTime): ZonedTime {
  return {
    iso: time.toISO() ?? '',
    timezone: time.zoneName ?? 'UTC',
    utc_offset: time.toFormat('ZZ'),
    readable: time.setLocale('en-US').toFormat("cccc, LLLL d, yyyy 'at' h:mm a ZZZZ"),
    day_of_week: time.setLocale('en-US').toFormat('cccc'),
    unix_seconds: Math.floor(time.toSeconds()),
  };
}

export function currentTime(zone: string, now: () => Date = () => new Date()): ZonedTime {
  return describe(DateTime.fromJSDate(now()).setZone(checkTimeZone(zone)));
}

export function convertTime(input: { datetime: string; from_timezone: string; to_timezone: string }): { from: ZonedTime; to: ZonedTime } {
  const source = parseDateTime(input.datetime, checkTimeZone(input.from_timezone, 'from_timezone'), 'datetime');
  return { from: describe(source), to: describe(source.setZone(checkTimeZone(input.to_timezone, 'to_timezone'))) };
}

export function addDuration(input: {
  datetime: string;
  timezone: string;
  operation: 'add' | 'subtract';
  duration: DurationParts;
}): { start: ZonedTime; duration: string; result: ZonedTime } {
  const start = parseDateTime(input.datetime, checkTimeZone(input.timezone), 'datetime');
  const parts: DurationLikeObject = {};
  for (const unit of DURATION_UNITS) {
    const amount = input.duration[unit];
    if (amount !== undefined && amount !== 0) parts[unit] = amount;
  }
  if (Object.keys(parts).length === 0) throw invalid(`The duration is empty; give at least one of ${DURATION_UNITS.join(', ')}`);
  const duration = Duration.fromObject(parts);
  const result = input.operation === 'add' ? start.plus(duration) : start.minus(duration);
  if (!result.isValid) throw invalid('The result is outside the representable date range');
  return { start: describe(start), duration: duration.toISO() ?? '', result: describe(result) };
}

export function dateDifference(input: { start: string; end: string; timezone: string; units: readonly DurationUnit[] }): {
  start: ZonedTime;
  end: ZonedTime;
  difference: DurationParts;
  /** Human-readable breakdown, e.g. `1 month, 2 days, 3 hours`. */
  readable: string;
  total_days: number;
  total_hours: number;
  total_seconds: number;
} {
  const zone = checkTimeZone(input.timezone);
  const start = parseDateTime(input.start, zone, 'start');
  const end = parseDateTime(input.end, zone, 'end');
  const units = DURATION_UNITS.filter((unit) => input.units.includes(unit));
  const diff = end.diff(start, units.length === 0 ? ['days', 'hours', 'minutes'] : units);
  const difference: DurationParts = {};
  for (const [unit, amount] of Object.entries(diff.toObject()) as Array<[DurationUnit, number]>) difference[unit] = round(amount);
  const parts = Object.entries(difference)
    .filter(([, amount]) => amount !== 0)
    .map(([unit, amount]) => `${amount} ${Math.abs(amount) === 1 ? unit.slice(0, -1) : unit}`);
  const millis = end.toMillis() - start.toMillis();
  return {
    start: describe(start),
    end: describe(end),
    difference,
    readable: parts.length === 0 ? 'no difference' : parts.join(', '),
    total_days: round(millis / 86_400_000),
    total_hours: round(millis / 3_600_000),
    total_seconds: Math.round(millis / 1000),
  };
}

export function dayOfWeek(input: { date: string; timezone: string }): {
  date: string;
  day_of_week: string;
  /** ISO weekday: 1 = Monday ... 7 = Sunday. */
  iso_weekday: number;
  iso_week: number;
  day_of_year: number;
  is_weekend: boolean;
} {
  const time = parseDateTime(input.date, checkTimeZone(input.timezone), 'date');
  return {
    date: time.toISODate() ?? '',
    day_of_week: time.setLocale('en-US').toFormat('cccc'),
    iso_weekday: time.weekday,
    iso_week: time.weekNumber,
    day_of_year: time.ordinal,
    is_weekend: time.weekday >= 6,
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function invalid(message: string): EnsembleError {
  return new EnsembleError(ErrorCode.InvalidRequest, message);
}
