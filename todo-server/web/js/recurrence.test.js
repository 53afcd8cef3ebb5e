import assert from "node:assert/strict";
import { test } from "node:test";
import { describe, fromForm, ordinal, toForm } from "./recurrence.js";

const monday9 = Date.UTC(2026, 11, 7, 9, 0); // Mon 7 Dec 2026, 09:00 in London
const london = "Europe/London";

test("presets read as the series' local day and time", () => {
  assert.equal(describe("daily", monday9, london), "Every day at 09:00");
  assert.equal(describe("weekly", monday9, london), "Every week on Monday at 09:00");
  assert.equal(describe("monthly", monday9, london), "Every month on the 7th at 09:00");
  assert.equal(describe("monthly", Date.UTC(2026, 0, 31, 9), london), "Every month on the 31st (or the month's last day) at 09:00");
  assert.equal(describe("weekly", null, london), "Every week");
  assert.equal(describe(null, monday9, london), "");
});

test("the local time is the task's zone's, not UTC's", () => {
  assert.equal(describe("daily", Date.UTC(2026, 6, 7, 13, 0), "America/New_York"), "Every day at 09:00");
});

test("custom rules in words", () => {
  const say = (rrule, anchor) => describe({ rrule, anchor }, monday9, london);
  assert.equal(say("FREQ=WEEKLY;BYDAY=MO,WE;INTERVAL=2"), "Every 2 weeks on Monday and Wednesday at 09:00");
  assert.equal(say("RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"), "Every week on weekdays at 09:00");
  assert.equal(say("FREQ=MONTHLY;BYDAY=-1FR"), "Every month on the last Friday at 09:00");
  assert.equal(say("FREQ=MONTHLY;BYMONTHDAY=-1"), "Every month on the last day at 09:00");
  assert.equal(say("FREQ=MONTHLY;BYMONTHDAY=1,15;COUNT=6"), "Every month on the 1st and 15th at 09:00, 6 times");
  assert.equal(say("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1"), "Every year in March on the 1st at 09:00");
  assert.equal(say("FREQ=DAILY;BYHOUR=8,20;BYMINUTE=30"), "Every day at 08:30 and 20:30");
  assert.equal(say("FREQ=DAILY;INTERVAL=3", "completion"), "Every 3 days at 09:00, counted from completion");
  assert.equal(say("FREQ=WEEKLY;UNTIL=20261231T235959Z"), "Every week on Monday at 09:00, until 31 December 2026");
  assert.equal(say("FREQ=MONTHLY;BYSETPOS=1;BYDAY=MO"), "Repeats: FREQ=MONTHLY;BYSETPOS=1;BYDAY=MO");
});

test("ordinals", () => {
  assert.deepEqual([1, 2, 3, 4, 11, 12, 13, 21, 22, 23, -1, -2].map(ordinal),
    ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "23rd", "last", "2nd to last"]);
});

test("the form round-trips every kind of recurrence", () => {
  for (const value of [null, "daily", "weekly", "monthly", { rrule: "FREQ=DAILY;COUNT=2" }]) {
    const { repeat, rrule } = toForm(value);
    assert.deepEqual(fromForm(repeat, rrule), value);
  }
});
