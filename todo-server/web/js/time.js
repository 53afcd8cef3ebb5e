// Time zones on the wall clock: a due date is entered as a local date-time in the task's zone and
// stored as an instant; it is shown in the task's zone. Pure functions over Intl (tested by Node).

const partsFormatters = new Map();

function partsFormatter(timeZone) {
  let format = partsFormatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      weekday: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    partsFormatters.set(timeZone, format);
  }
  return format;
}

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/** The wall-clock fields of instant `ms` (milliseconds) in `timeZone`; `weekday` 0 is Sunday. */
export function localParts(ms, timeZone) {
  const fields = {};
  for (const { type, value } of partsFormatter(timeZone).formatToParts(new Date(ms))) {
    fields[type] = value;
  }
  return {
    year: Number(fields.year),
    month: Number(fields.month),
    day: Number(fields.day),
    hour: Number(fields.hour),
    minute: Number(fields.minute),
    second: Number(fields.second),
    weekday: WEEKDAYS.indexOf(fields.weekday),
  };
}

/** The zone's offset from UTC at instant `ms`, in milliseconds. */
export function offsetAt(ms, timeZone) {
  const p = localParts(ms, timeZone);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

const DAY = 86_400_000;

/**
 * The instant (milliseconds) of the local date-time `value` ("YYYY-MM-DDTHH:MM", what a
 * datetime-local input holds) in `timeZone`, or null when `value` is not one. As the server's engine
 * reads local times: a time skipped by a spring-forward gap moves forward by the gap, a time repeated
 * at a fall-back is the earlier of its two instants.
 */
export function zonedToInstant(value, timeZone) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(value ?? "");
  if (!match) return null;
  const [y, mo, d, hh, mi, ss] = match.slice(1).map((n) => Number(n ?? 0));
  const wall = Date.UTC(y, mo - 1, d, hh, mi, ss);
  if (Number.isNaN(wall)) return null;
  const before = offsetAt(wall - DAY, timeZone);
  const after = offsetAt(wall + DAY, timeZone);
  const valid = [...new Set([before, after])]
    .map((offset) => wall - offset)
    .filter((ms) => wall - offsetAt(ms, timeZone) === ms);
  if (valid.length > 0) return Math.min(...valid);
  return wall - before;
}

/** The datetime-local value ("YYYY-MM-DDTHH:MM") of instant `ms` in `timeZone`. */
export function instantToLocalInput(ms, timeZone) {
  const p = localParts(ms, timeZone);
  const two = (n) => String(n).padStart(2, "0");
  return `${String(p.year).padStart(4, "0")}-${two(p.month)}-${two(p.day)}T${two(p.hour)}:${two(p.minute)}`;
}

/** The browser's own time zone. */
export function browserZone() {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Every IANA zone the browser knows, `UTC` and the browser's own included. */
export function knownZones() {
  const zones = new Set(Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : []);
  zones.add("UTC");
  zones.add(browserZone());
  return [...zones].sort();
}

/** "Mon 7 Dec 2026, 09:00" in `timeZone` (with the zone's name when it is not the browser's). */
export function formatInstant(ms, timeZone, { withZone = timeZone !== browserZone() } = {}) {
  const options = {
    timeZone,
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "numeric",
    minute: "2-digit",
  };
  if (withZone) options.timeZoneName = "short";
  return new Intl.DateTimeFormat(undefined, options).format(new Date(ms));
}
