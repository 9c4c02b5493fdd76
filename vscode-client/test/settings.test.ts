import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULTS, initializationOptions, needsRestart, readSettings } from "../src/settings";

const getterOf = (values: Record<string, unknown>) => (key: string) => values[key];

describe("readSettings", () => {
  it("gives the defaults for an empty section", () => {
    const { server, client, problems } = readSettings(getterOf({}));
    assert.deepEqual(problems, []);
    assert.deepEqual(server, {
      enable: true,
      severity: null,
      inlayHints: true,
      debounceMs: 300,
      inputs: {},
      budgetSeconds: null,
    });
    assert.deepEqual(client, { interpreter: "", traceServer: "off" });
  });

  it("maps every key", () => {
    const { server, client, problems } = readSettings(
      getterOf({
        enable: false,
        severity: "warning",
        inlayHints: false,
        debounceMs: 99.6,
        inputs: { "Net.x": [1, 3, 64, 64] },
        budgetSeconds: 1.5,
        interpreter: "/v/bin/python",
        "trace.server": "verbose",
      }),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(server, {
      enable: false,
      severity: "warning",
      inlayHints: false,
      debounceMs: 100,
      inputs: { "Net.x": [1, 3, 64, 64] },
      budgetSeconds: 1.5,
    });
    assert.deepEqual(client, { interpreter: "/v/bin/python", traceServer: "verbose" });
  });

  it("replaces invalid values by the defaults and says so", () => {
    const { server, problems } = readSettings(
      getterOf({ enable: "yes", severity: "fatal", debounceMs: -1, inputs: [1], budgetSeconds: 0 }),
    );
    assert.equal(server.enable, DEFAULTS.enable);
    assert.equal(server.severity, DEFAULTS.severity);
    assert.equal(server.debounceMs, DEFAULTS.debounceMs);
    assert.deepEqual(server.inputs, {});
    assert.equal(server.budgetSeconds, null);
    assert.equal(problems.length, 5);
    assert.match(problems[1], /^shapels\.severity: expected null, error \| warning/);
  });

  it("accepts severity as null, a level, or an object of code -> level", () => {
    for (const severity of [null, "hint", { "linear-in-features": "warning", "*": "error" }]) {
      assert.deepEqual(readSettings(getterOf({ severity })).server.severity, severity);
    }
    assert.equal(readSettings(getterOf({ severity: { "linear-in-features": "loud" } })).problems.length, 1);
  });
});

describe("initializationOptions", () => {
  it("sends the server keys and trusted, not the client-only ones", () => {
    const { server } = readSettings(getterOf({ interpreter: "/x", budgetSeconds: 3, severity: { "*": "warning" } }));
    assert.deepEqual(initializationOptions(server, true), {
      enable: true,
      severity: { "*": "warning" },
      inlayHints: true,
      debounceMs: 300,
      inputs: {},
      budgetSeconds: 3,
      trusted: true,
    });
  });

  it("leaves severity and budgetSeconds out when null and says trusted: false in an untrusted workspace", () => {
    const options = initializationOptions(readSettings(getterOf({ severity: null })).server, false);
    assert.equal(options.trusted, false);
    assert.equal("budgetSeconds" in options, false);
    assert.equal("severity" in options, false);
  });
});

describe("needsRestart", () => {
  it("restarts for interpreter and enable only", () => {
    assert.equal(needsRestart((s) => s === "shapels.interpreter"), true);
    assert.equal(needsRestart((s) => s === "shapels.enable"), true);
    assert.equal(needsRestart((s) => s === "shapels.debounceMs"), false);
  });
});
