import assert from "node:assert/strict";
import { test } from "node:test";
import { instantToLocalInput, localParts, zonedToInstant } from "./time.js";

const iso = (ms) => new Date(ms).toISOString();

test("a local time becomes the instant of that wall clock in the zone", () => {
  assert.equal(iso(zonedToInstant("2026-12-07T09:00", "Europe/London")), "2026-12-07T09:00:00.000Z");
  assert.equal(iso(zonedToInstant("2026-07-07T09:00", "Europe/London")), "2026-07-07T08:00:00.000Z");
  assert.equal(iso(zonedToInstant("2026-07-07T09:00", "America/New_York")), "2026-07-07T13:00:00.000Z");
  assert.equal(iso(zonedToInstant("2026-07-07T09:00", "Asia/Kolkata")), "2026-07-07T03:30:00.000Z");
  assert.equal(zonedToInstant("not a date", "UTC"), null);
  assert.equal(zonedToInstant("", "UTC"), null);
});

test("a time skipped by spring-forward moves forward by the gap, as the server reads it", () => {
  // London skips 01:00-02:00 on 2026-03-29: 01:30 is read with GMT, i.e. 02:30 BST.
  assert.equal(iso(zonedToInstant("2026-03-29T01:30", "Europe/London")), "2026-03-29T01:30:00.000Z");
  assert.equal(instantToLocalInput(zonedToInstant("2026-03-29T01:30", "Europe/London"), "Europe/London"), "2026-03-29T02:30");
});

test("a time repeated at fall-back is the earlier of its two instants", () => {
  // New York repeats 01:00-02:00 on 2026-11-01: 01:30 EDT (05:30Z) comes before 01:30 EST (06:30Z).
  assert.equal(iso(zonedToInstant("2026-11-01T01:30", "America/New_York")), "2026-11-01T05:30:00.000Z");
});

test("local input round-trips through the instant in every zone at awkward hours", () => {
  for (const zone of ["UTC", "Europe/London", "America/New_York", "Australia/Lord_Howe", "Pacific/Chatham"]) {
    for (const local of ["2026-01-31T23:59", "2026-06-15T00:00", "2026-10-04T12:45"]) {
      assert.equal(instantToLocalInput(zonedToInstant(local, zone), zone), local, `${zone} ${local}`);
    }
  }
});

test("local parts name the weekday", () => {
  assert.equal(localParts(Date.UTC(2026, 11, 7, 9), "UTC").weekday, 1); // Monday
});
