import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  classifyProbe,
  defaultPython,
  expandVariables,
  installCommand,
  resolveInterpreter,
  serverCommand,
} from "../src/interpreter";

describe("resolveInterpreter", () => {
  it("prefers the shapels.interpreter setting", () => {
    assert.deepEqual(
      resolveInterpreter({ setting: "/opt/py/bin/python", pythonExtensionExecutable: "/venv/bin/python", platform: "linux" }),
      { python: "/opt/py/bin/python", source: "setting" },
    );
  });

  it("falls back to the Python extension's environment when the setting is empty or blank", () => {
    for (const setting of [undefined, "", "   ", null, 42]) {
      assert.deepEqual(resolveInterpreter({ setting, pythonExtensionExecutable: "/venv/bin/python", platform: "linux" }), {
        python: "/venv/bin/python",
        source: "python-extension",
      });
    }
  });

  it("falls back to python3 (python on Windows) without the Python extension", () => {
    assert.deepEqual(resolveInterpreter({ platform: "linux" }), { python: "python3", source: "default" });
    assert.deepEqual(resolveInterpreter({ pythonExtensionExecutable: " ", platform: "darwin" }), { python: "python3", source: "default" });
    assert.deepEqual(resolveInterpreter({ platform: "win32" }), { python: "python", source: "default" });
    assert.equal(defaultPython("linux"), "python3");
  });

  it("expands ${workspaceFolder}, ~ and ${env:X}, and anchors relative paths", () => {
    const ctx = { workspaceFolder: "/ws", homeDir: "/home/u", env: { VENV: "/envs/a" }, platform: "linux" };
    assert.equal(resolveInterpreter({ ...ctx, setting: "${workspaceFolder}/.venv/bin/python" }).python, "/ws/.venv/bin/python");
    assert.equal(resolveInterpreter({ ...ctx, setting: ".venv/bin/python" }).python, "/ws/.venv/bin/python");
    assert.equal(resolveInterpreter({ ...ctx, setting: "~/py/bin/python" }).python, "/home/u/py/bin/python");
    assert.equal(resolveInterpreter({ ...ctx, setting: "${env:VENV}/bin/python" }).python, "/envs/a/bin/python");
    assert.equal(resolveInterpreter({ ...ctx, setting: "python3.11" }).python, "python3.11", "a bare name stays a PATH lookup");
    assert.equal(expandVariables("${workspaceFolder}/x", {}), "${workspaceFolder}/x", "unknown folder: left as is");
  });
});

describe("serverCommand", () => {
  it("runs python -m shapels serve (the client appends --stdio)", () => {
    assert.deepEqual(serverCommand("/v/bin/python"), { command: "/v/bin/python", args: ["-m", "shapels", "serve"] });
  });
});

describe("classifyProbe", () => {
  it("ok with the version", () => {
    assert.deepEqual(classifyProbe({ exitCode: 0, stdout: "0.1.0" }), { kind: "ok", version: "0.1.0" });
  });
  it("not installed", () => {
    const stderr = "Traceback (most recent call last):\n  File \"<string>\", line 1\nModuleNotFoundError: No module named 'shapels'\n";
    assert.equal(classifyProbe({ exitCode: 1, stderr }).kind, "not-installed");
  });
  it("interpreter missing", () => {
    assert.equal(classifyProbe({ errorCode: "ENOENT" }).kind, "interpreter-missing");
  });
  it("other failures keep the last stderr line", () => {
    assert.deepEqual(classifyProbe({ exitCode: 1, stderr: "boom\nImportError: bad libcst\n" }), {
      kind: "failed",
      detail: "ImportError: bad libcst",
    });
  });
});

describe("installCommand", () => {
  it("quotes only when needed", () => {
    assert.equal(installCommand("/v/bin/python", "linux"), "/v/bin/python -m pip install shapels");
    assert.equal(installCommand("/my env/bin/python", "linux"), "'/my env/bin/python' -m pip install shapels");
    assert.equal(installCommand("C:\\Program Files\\Python\\python.exe", "win32"), '& "C:\\Program Files\\Python\\python.exe" -m pip install shapels');
  });
});
