/**
 * The `shapels` settings section, read and checked, and the initializationOptions built from it.
 * Pure: the caller passes a getter (in the extension, `workspace.getConfiguration("shapels").get`).
 */

export const LEVELS = ["error", "warning", "information", "hint"] as const;
export type Level = (typeof LEVELS)[number];
/** null: each finding keeps the engine's severity; a level for all; or per code ("*" for the rest). */
export type Severity = null | Level | Record<string, Level>;
export const TRACE_LEVELS = ["off", "messages", "verbose"] as const;
export type TraceLevel = (typeof TRACE_LEVELS)[number];

/** What the server's `shapels` section understands (sent as initializationOptions). */
export interface ServerSettings {
  enable: boolean;
  severity: Severity;
  inlayHints: boolean;
  debounceMs: number;
  inputs: Record<string, unknown>;
  budgetSeconds: number | null;
}

/** Client-only settings: they choose and trace the server process, the server ignores them. */
export interface ClientSettings {
  interpreter: string;
  traceServer: TraceLevel;
}

export const DEFAULTS: ServerSettings & ClientSettings = {
  enable: true,
  severity: null,
  inlayHints: true,
  debounceMs: 300,
  inputs: {},
  budgetSeconds: null,
  interpreter: "",
  traceServer: "off",
};

export interface ReadResult {
  server: ServerSettings;
  client: ClientSettings;
  /** One line per invalid value, each replaced by its default. */
  problems: string[];
}

export type Getter = (key: string) => unknown;

const isLevel = (v: unknown): v is Level => (LEVELS as readonly unknown[]).includes(v);

function isSeverity(v: unknown): boolean {
  if (v === null || isLevel(v)) return true;
  return isPlainObject(v) && Object.values(v).every(isLevel);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function readSettings(get: Getter): ReadResult {
  const problems: string[] = [];
  const pick = <T>(key: string, fallback: T, ok: (v: unknown) => boolean, expected: string): T => {
    const value = get(key);
    if (value === undefined) return fallback;
    if (ok(value)) return value as T;
    problems.push(`shapels.${key}: expected ${expected}, got ${JSON.stringify(value)}; using ${JSON.stringify(fallback)}`);
    return fallback;
  };
  const isBool = (v: unknown) => typeof v === "boolean";
  const server: ServerSettings = {
    enable: pick("enable", DEFAULTS.enable, isBool, "true or false"),
    severity: pick<Severity>("severity", DEFAULTS.severity, isSeverity, `null, ${LEVELS.join(" | ")}, or an object of code -> level`),
    inlayHints: pick("inlayHints", DEFAULTS.inlayHints, isBool, "true or false"),
    debounceMs: pick(
      "debounceMs",
      DEFAULTS.debounceMs,
      (v) => typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= 60000,
      "a number of milliseconds from 0 to 60000",
    ),
    inputs: pick("inputs", DEFAULTS.inputs, isPlainObject, "an object"),
    budgetSeconds: pick(
      "budgetSeconds",
      DEFAULTS.budgetSeconds,
      (v) => v === null || (typeof v === "number" && Number.isFinite(v) && v > 0),
      "a positive number or null",
    ),
  };
  server.debounceMs = Math.round(server.debounceMs);
  const client: ClientSettings = {
    interpreter: pick("interpreter", DEFAULTS.interpreter, (v) => typeof v === "string", "a path"),
    traceServer: pick("trace.server", DEFAULTS.traceServer, (v) => (TRACE_LEVELS as readonly unknown[]).includes(v), TRACE_LEVELS.join(" | ")),
  };
  return { server, client, problems };
}

/**
 * initializationOptions for the server: the `shapels` section (server keys only; `severity` and
 * `budgetSeconds` left out when null so the server keeps its defaults) plus `trusted`, false in an untrusted
 * workspace, where the server must not run user code (no confirm).
 */
export function initializationOptions(server: ServerSettings, trusted: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { ...server, inputs: { ...server.inputs }, trusted };
  if (server.severity === null) delete out.severity;
  if (server.budgetSeconds === null) delete out.budgetSeconds;
  return out;
}

/** Settings whose change needs a new server process (the rest reach it via didChangeConfiguration). */
export const RESTART_KEYS = ["shapels.interpreter", "shapels.enable"] as const;

export function needsRestart(affects: (section: string) => boolean): boolean {
  return RESTART_KEYS.some((key) => affects(key));
}
