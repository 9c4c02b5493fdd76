/**
 * Which Python runs the shapels language server, and how. Pure: no `vscode` import, so the unit
 * tests run under plain node.
 *
 * Order: the `shapels.interpreter` setting, then the Python extension's active environment (only
 * when ms-python.python is installed and answers), then `python3` (`python` on Windows).
 */

import * as path from "node:path";

export type InterpreterSource = "setting" | "python-extension" | "default";

export interface ResolveInput {
  /** Raw value of `shapels.interpreter` (may be anything a user typed in settings.json). */
  setting?: unknown;
  /** Executable of the Python extension's active environment, if that extension gave one. */
  pythonExtensionExecutable?: string;
  /** fsPath of the first workspace folder, for `${workspaceFolder}` and relative paths. */
  workspaceFolder?: string;
  homeDir?: string;
  env?: Record<string, string | undefined>;
  platform?: string;
}

export interface ResolvedInterpreter {
  python: string;
  source: InterpreterSource;
}

export interface ServerCommand {
  command: string;
  /** The language client appends `--stdio` itself (TransportKind.stdio). */
  args: string[];
}

export function defaultPython(platform: string = process.platform): string {
  return platform === "win32" ? "python" : "python3";
}

/** Expands `${workspaceFolder}`, `${userHome}`, `${env:NAME}` and a leading `~`. */
export function expandVariables(
  value: string,
  ctx: { workspaceFolder?: string; homeDir?: string; env?: Record<string, string | undefined> },
): string {
  let out = value.replace(/\$\{(workspaceFolder|userHome|env:([A-Za-z_][A-Za-z0-9_]*))\}/g, (whole, name, envName) => {
    if (name === "workspaceFolder") return ctx.workspaceFolder ?? whole;
    if (name === "userHome") return ctx.homeDir ?? whole;
    return ctx.env?.[envName] ?? "";
  });
  if (ctx.homeDir && (out === "~" || out.startsWith("~/") || out.startsWith("~\\"))) {
    out = ctx.homeDir + out.slice(1);
  }
  return out;
}

function isBareCommand(value: string): boolean {
  return !value.includes("/") && !value.includes("\\");
}

/** Turns the setting into an executable path: variables expanded, relative paths anchored. */
export function normaliseSetting(setting: unknown, input: ResolveInput): string | undefined {
  if (typeof setting !== "string") return undefined;
  const trimmed = setting.trim();
  if (!trimmed) return undefined;
  const expanded = expandVariables(trimmed, input);
  if (isBareCommand(expanded)) return expanded; // looked up on PATH, e.g. "python3.11"
  const isAbs = path.isAbsolute(expanded) || path.win32.isAbsolute(expanded);
  if (!isAbs && input.workspaceFolder) return path.join(input.workspaceFolder, expanded);
  return expanded;
}

export function resolveInterpreter(input: ResolveInput): ResolvedInterpreter {
  const fromSetting = normaliseSetting(input.setting, input);
  if (fromSetting) return { python: fromSetting, source: "setting" };
  const fromExt = input.pythonExtensionExecutable?.trim();
  if (fromExt) return { python: fromExt, source: "python-extension" };
  return { python: defaultPython(input.platform), source: "default" };
}

export function serverCommand(python: string): ServerCommand {
  return { command: python, args: ["-m", "shapels", "serve"] };
}

/** The probe run before starting the server: exits 0 and prints the version when shapels imports. */
export const IMPORT_PROBE_ARGS = ["-c", "import shapels, sys; sys.stdout.write(getattr(shapels, '__version__', '?'))"];

export type ProbeOutcome =
  | { kind: "ok"; version: string }
  | { kind: "interpreter-missing"; detail: string }
  | { kind: "not-installed"; detail: string }
  | { kind: "failed"; detail: string };

/** Classifies the result of running IMPORT_PROBE_ARGS with child_process.execFile. */
export function classifyProbe(result: {
  errorCode?: string | number | null;
  exitCode?: number | null;
  stdout?: string;
  stderr?: string;
}): ProbeOutcome {
  const stderr = (result.stderr ?? "").trim();
  if (result.errorCode === "ENOENT" || result.errorCode === "EACCES") {
    return { kind: "interpreter-missing", detail: String(result.errorCode) };
  }
  if (result.exitCode === 0 && !result.errorCode) {
    return { kind: "ok", version: (result.stdout ?? "").trim() || "?" };
  }
  if (/ModuleNotFoundError: No module named '?shapels'?/.test(stderr)) {
    return { kind: "not-installed", detail: lastLine(stderr) };
  }
  return { kind: "failed", detail: lastLine(stderr) || `exit code ${result.exitCode ?? result.errorCode}` };
}

function lastLine(text: string): string {
  const lines = text.split(/\r?\n/).filter((l) => l.trim());
  return lines[lines.length - 1] ?? "";
}

/** Quotes one argument for a POSIX shell or PowerShell/cmd (double quotes), only when needed. */
export function shellQuote(arg: string, platform: string = process.platform): string {
  if (/^[A-Za-z0-9_@%+=:,./\\-]+$/.test(arg)) return arg;
  if (platform === "win32") return `"${arg.replace(/"/g, '\\"')}"`;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command the "not installed" message offers to run (in a terminal) or copy. */
export function installCommand(python: string, platform: string = process.platform): string {
  const exe = shellQuote(python, platform);
  // PowerShell needs the call operator before a quoted executable.
  const prefix = platform === "win32" && exe.startsWith('"') ? "& " : "";
  return `${prefix}${exe} -m pip install shapels`;
}
