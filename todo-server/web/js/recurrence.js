// Recurrence as people read it ("Every week on Monday at 09:00") and as the API writes it
// (`"weekly"` or `{"rrule": "FREQ=...", "anchor": "due"}`). The occurrences themselves always come
// from the server's engine (GET /api/v1/recurrence/preview): nothing here computes dates.

import { localParts } from "./time.js";

const DAY_NAMES = { MO: "Monday", TU: "Tuesday", WE: "Wednesday", TH: "Thursday", FR: "Friday", SA: "Saturday", SU: "Sunday" };
const WEEKDAY_CODES = ["SU", "MO", "TU", "WE", "TH", "FR", "SA"];
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const UNITS = { YEARLY: "year", MONTHLY: "month", WEEKLY: "week", DAILY: "day", HOURLY: "hour" };
const KNOWN = new Set(["FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYHOUR", "BYMINUTE", "COUNT", "UNTIL", "WKST"]);

/** "1st", "2nd", "23rd", "last", "2nd to last". */
export function ordinal(n) {
  if (n === -1) return "last";
  if (n < 0) return `${ordinal(-n)} to last`;
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] ?? "th");
  return `${n}${suffix}`;
}

/** "a", "a and b", "a, b and c". */
function list(items) {
  return items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

const two = (n) => String(n).padStart(2, "0");

/** The parts of an RRULE ("RRULE:" prefix optional), upper-cased keys. */
export function ruleParts(rrule) {
  const parts = {};
  for (const item of rrule.trim().replace(/^RRULE:/i, "").split(";")) {
    const [key, value] = item.split("=");
    if (key && value !== undefined) parts[key.trim().toUpperCase()] = value.trim().toUpperCase();
  }
  return parts;
}

function days(byday) {
  const codes = byday.split(",");
  const plain = codes.every((c) => /^[A-Z]{2}$/.test(c));
  if (plain && codes.join(",") === "MO,TU,WE,TH,FR") return "on weekdays";
  if (plain && codes.length === 2 && codes.includes("SA") && codes.includes("SU")) return "on weekends";
  return `on ${list(codes.map((code) => {
    const m = /^([+-]?\d+)?([A-Z]{2})$/.exec(code);
    if (!m) return code;
    const name = DAY_NAMES[m[2]] ?? m[2];
    return m[1] ? `the ${ordinal(Number(m[1]))} ${name}` : name;
  }))}`;
}

function monthDays(bymonthday) {
  const items = bymonthday.split(",").map(Number);
  const words = items.map((d) => (d === -1 ? "last day" : ordinal(d)));
  return items.length === 1 && items[0] === -1 ? "on the last day" : `on the ${list(words)}`;
}

function until(value) {
  const m = /^(\d{4})(\d{2})(\d{2})/.exec(value);
  return m ? `until ${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[1]}` : `until ${value}`;
}

/**
 * The rule in words. `recurrence` is the API's value; `dueMs`/`timeZone` give the series' local
 * time and day (a task without a due date repeats from its completion, so no time is named).
 */
export function describe(recurrence, dueMs, timeZone) {
  if (!recurrence) return "";
  const local = dueMs == null ? null : localParts(dueMs, timeZone);
  const at = local ? ` at ${two(local.hour)}:${two(local.minute)}` : "";
  if (recurrence === "daily") return `Every day${at}`;
  if (recurrence === "weekly") {
    return local ? `Every week on ${DAY_NAMES[WEEKDAY_CODES[local.weekday]]}${at}` : "Every week";
  }
  if (recurrence === "monthly") {
    if (!local) return "Every month";
    const clamp = local.day > 28 ? " (or the month's last day)" : "";
    return `Every month on the ${ordinal(local.day)}${clamp}${at}`;
  }
  const rrule = recurrence.rrule ?? "";
  const parts = ruleParts(rrule);
  const unit = UNITS[parts.FREQ];
  if (!unit || Object.keys(parts).some((key) => !KNOWN.has(key))) return `Repeats: ${rrule}`;
  const interval = Number(parts.INTERVAL ?? 1);
  const words = [interval > 1 ? `Every ${interval} ${unit}s` : `Every ${unit}`];
  if (parts.BYMONTH) words.push(`in ${list(parts.BYMONTH.split(",").map((m) => MONTHS[Number(m) - 1] ?? m))}`);
  if (parts.BYMONTHDAY) words.push(monthDays(parts.BYMONTHDAY));
  if (parts.BYDAY) words.push(days(parts.BYDAY));
  if (!parts.BYMONTHDAY && !parts.BYDAY && local) {
    if (unit === "week") words.push(`on ${DAY_NAMES[WEEKDAY_CODES[local.weekday]]}`);
    if (unit === "month") words.push(`on the ${ordinal(local.day)}`);
    if (unit === "year" && !parts.BYMONTH) words.push(`on ${local.day} ${MONTHS[local.month - 1]}`);
    if (unit === "year" && parts.BYMONTH) words.push(`on the ${ordinal(local.day)}`);
  }
  if (parts.BYHOUR) {
    const minutes = (parts.BYMINUTE ?? String(local?.minute ?? 0)).split(",");
    const times = parts.BYHOUR.split(",").flatMap((hh) => minutes.map((mm) => `${two(hh)}:${two(mm)}`));
    words.push(`at ${list(times)}`);
  } else if (unit !== "hour" && at) {
    words.push(at.trim());
  }
  let text = words.join(" ");
  if (parts.COUNT) text += `, ${parts.COUNT} time${parts.COUNT === "1" ? "" : "s"}`;
  if (parts.UNTIL) text += `, ${until(parts.UNTIL)}`;
  if (recurrence.anchor === "completion") text += ", counted from completion";
  return text;
}

/** The Repeat choice and RRULE text that show `recurrence` in the form. */
export function toForm(recurrence) {
  if (!recurrence) return { repeat: "none", rrule: "" };
  if (typeof recurrence === "string") return { repeat: recurrence, rrule: "" };
  return { repeat: "custom", rrule: recurrence.rrule };
}

/** The API value of the form's Repeat choice and RRULE text. */
export function fromForm(repeat, rrule) {
  if (repeat === "none") return null;
  if (repeat === "custom") return { rrule: rrule.trim() };
  return repeat;
}
