import assert from "node:assert/strict";
import { test } from "node:test";
import { zoneChoices } from "./settings.js";

test("the choices are the known zones, sorted, with the current one even when unknown", () => {
  assert.deepEqual(zoneChoices("Europe/Paris", ["UTC", "Europe/Paris", "America/New_York"]),
    ["America/New_York", "Europe/Paris", "UTC"]);
  assert.deepEqual(zoneChoices("Etc/Unknown", ["UTC"]), ["Etc/Unknown", "UTC"]);
  assert.deepEqual(zoneChoices(undefined, ["UTC"]), ["UTC"]);
});

test("by default the choices are every zone the runtime knows", () => {
  const zones = zoneChoices("Europe/Paris");
  assert.ok(zones.includes("Europe/Paris"));
  assert.ok(zones.includes("UTC"));
  assert.ok(zones.length > 300, `${zones.length} zones`);
});
