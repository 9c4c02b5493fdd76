import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { StderrClassifier } from "../src/stderr";

describe("StderrClassifier", () => {
  it("keeps pygls's cancel warning out of the errors", () => {
    assert.equal(new StderrClassifier().level('Cancel notification for unknown message id "15"'), "warn");
  });

  it("uses a logging level prefix", () => {
    const c = new StderrClassifier();
    assert.equal(c.level("WARNING:pygls.protocol:Cancel notification"), "warn");
    assert.equal(c.level("ERROR shapels.lsp: analysis failed"), "error");
    assert.equal(c.level("INFO pygls.server: Starting IO server"), "info");
    assert.equal(c.level("DEBUG x"), "debug");
    assert.equal(c.level("CRITICAL boom"), "error");
  });

  it("marks a whole traceback as errors, then goes back to normal", () => {
    const c = new StderrClassifier();
    const lines = [
      "Traceback (most recent call last):",
      '  File "/x/server.py", line 3, in <module>',
      "    run()",
      "ModuleNotFoundError: No module named 'pygls'",
    ];
    assert.deepEqual(lines.map((l) => c.level(l)), ["error", "error", "error", "error"]);
    assert.equal(c.level("something else"), "warn");
  });

  it("follows chained tracebacks", () => {
    const c = new StderrClassifier();
    const lines = [
      "Traceback (most recent call last):",
      "  File \"a.py\", line 1",
      "KeyError: 'x'",
      "",
      "During handling of the above exception, another exception occurred:",
      "",
      "Traceback (most recent call last):",
      "  File \"b.py\", line 2",
      "ValueError: bad",
    ];
    assert.deepEqual(lines.map((l) => c.level(l)).filter((l) => l !== "error"), ["warn", "warn", "warn"]);
    assert.equal(c.level("RuntimeError: also bare"), "error");
  });
});
