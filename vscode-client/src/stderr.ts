/**
 * The server's stderr, line by line, sorted into log levels for the shapels output channel.
 * Pure (no `vscode` import).
 *
 * vscode-languageclient logs every stderr line as an error. Python servers write warnings there
 * too (pygls logs "Cancel notification for unknown message id" at WARNING), so that would put
 * [error] lines in the channel for harmless events. Here:
 *   - a line that starts with a logging level name (`WARNING`, `ERROR:`, `INFO pygls: ...`) gets
 *     that level;
 *   - a Python traceback (from "Traceback (most recent call last):" to the exception line) and a
 *     bare `SomethingError: ...` line are errors;
 *   - any other line is a warning.
 */

export type Level = "trace" | "debug" | "info" | "warn" | "error";

const LEVEL_PREFIX = /^\s*(?:\[?\s*)(CRITICAL|FATAL|ERROR|WARNING|WARN|INFO|DEBUG|TRACE)\b/i;
const EXCEPTION_LINE = /^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)(:|$)/;

export class StderrClassifier {
  private inTraceback = false;

  level(line: string): Level {
    if (/^Traceback \(most recent call last\):/.test(line)) {
      this.inTraceback = true;
      return "error";
    }
    if (this.inTraceback) {
      // Frames and source lines are indented; the exception line that ends it is not.
      if (!/^\s/.test(line) && line.trim() !== "" && !/^During handling|^The above exception/.test(line)) {
        this.inTraceback = false;
      }
      return "error";
    }
    const match = LEVEL_PREFIX.exec(line);
    if (match) {
      switch (match[1].toUpperCase()) {
        case "CRITICAL":
        case "FATAL":
        case "ERROR":
          return "error";
        case "WARNING":
        case "WARN":
          return "warn";
        case "INFO":
          return "info";
        case "DEBUG":
          return "debug";
        default:
          return "trace";
      }
    }
    if (EXCEPTION_LINE.test(line)) return "error";
    return "warn";
  }
}
