import { execFile } from "node:child_process";
import * as os from "node:os";
import * as readline from "node:readline";
import * as vscode from "vscode";
import {
  ExecuteCommandRequest,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  StdioOptions,
  TransportKind,
} from "vscode-languageclient/node";
import {
  classifyProbe,
  IMPORT_PROBE_ARGS,
  installCommand,
  ProbeOutcome,
  resolveInterpreter,
  ResolvedInterpreter,
  serverCommand,
} from "./interpreter";
import { initializationOptions, needsRestart, readSettings } from "./settings";
import { StderrClassifier } from "./stderr";

const CLIENT_ID = "shapels";
const NOTEBOOK_TYPE = "jupyter-notebook";
const SERVER_CONFIRM_COMMAND = "shapels.confirm";
const PYTHON_EXTENSION_ID = "ms-python.python";

let output: vscode.LogOutputChannel;
let client: LanguageClient | undefined;
let confirmRegistration: vscode.Disposable | undefined;
/** start/stop/restart run one at a time, in order. */
let queue: Promise<void> = Promise.resolve();
let pythonEnvListener: vscode.Disposable | undefined;
let lastSource: ResolvedInterpreter["source"] | undefined;

function log(level: "Info" | "Warn" | "Error", message: string): void {
  if (level === "Error") output.error(message);
  else if (level === "Warn") output.warn(message);
  else output.info(message);
}

function serialized(task: () => Promise<void>): Promise<void> {
  queue = queue.then(task, task).catch((error) => log("Error", `shapels: ${errorText(error)}`));
  return queue;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstWorkspaceFolder(): string | undefined {
  return vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === "file")?.uri.fsPath;
}

function withTimeout<T>(promise: Thenable<T>, ms: number): Promise<T | undefined> {
  return Promise.race([
    Promise.resolve(promise),
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms)),
  ]);
}

/** The Python extension's active interpreter, when that (optional) extension is installed. */
async function pythonExtensionExecutable(): Promise<string | undefined> {
  const extension = vscode.extensions.getExtension(PYTHON_EXTENSION_ID);
  if (!extension) return undefined;
  try {
    if (!extension.isActive) await withTimeout(extension.activate(), 15000);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const environments = (extension.exports as any)?.environments;
    if (!environments?.getActiveEnvironmentPath) return undefined;
    if (!pythonEnvListener && environments.onDidChangeActiveEnvironmentPath) {
      pythonEnvListener = environments.onDidChangeActiveEnvironmentPath(() => {
        if (lastSource === "python-extension") {
          log("Info", "The Python extension's active environment changed; restarting shapels.");
          void serialized(restart);
        }
      });
    }
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const envPath = environments.getActiveEnvironmentPath(folder);
    const resolved = envPath ? await withTimeout(environments.resolveEnvironment(envPath), 15000) : undefined;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    return (resolved as any)?.executable?.uri?.fsPath ?? envPath?.path;
  } catch (error) {
    log("Warn", `Could not ask the Python extension for its interpreter: ${errorText(error)}`);
    return undefined;
  }
}

function probe(python: string, cwd: string | undefined): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    execFile(python, IMPORT_PROBE_ARGS, { cwd, timeout: 30000, windowsHide: true }, (error, stdout, stderr) => {
      const err = error as (NodeJS.ErrnoException & { code?: string | number }) | null;
      resolve(
        classifyProbe({
          errorCode: err && typeof err.code === "string" ? err.code : null,
          exitCode: err ? (typeof err.code === "number" ? err.code : 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
      );
    });
  });
}

const SOURCE_LABEL: Record<ResolvedInterpreter["source"], string> = {
  setting: "from the shapels.interpreter setting",
  "python-extension": "the Python extension's active environment",
  default: "the default interpreter",
};

async function reportProbeFailure(interpreter: ResolvedInterpreter, outcome: ProbeOutcome): Promise<void> {
  const where = `${interpreter.python} (${SOURCE_LABEL[interpreter.source]})`;
  if (outcome.kind === "not-installed") {
    const command = installCommand(interpreter.python);
    log("Error", `shapels is not installed in ${where}. Install it with: ${command}`);
    const choice = await vscode.window.showErrorMessage(
      `shapels is not installed in ${where}. Install it to check tensor shapes, or choose another interpreter.`,
      "Install shapels",
      "Copy Install Command",
      "Choose Interpreter",
    );
    if (choice === "Install shapels") {
      const terminal = vscode.window.createTerminal({ name: "shapels: install" });
      terminal.show();
      terminal.sendText(command);
      const next = await vscode.window.showInformationMessage(
        "When the install has finished, restart the shapels server.",
        "Restart Server",
      );
      if (next === "Restart Server") await vscode.commands.executeCommand("shapels.restartServer");
    } else if (choice === "Copy Install Command") {
      await vscode.env.clipboard.writeText(command);
      void vscode.window.showInformationMessage(`Copied: ${command}`);
    } else if (choice === "Choose Interpreter") {
      await vscode.commands.executeCommand("workbench.action.openSettings", "shapels.interpreter");
    }
    return;
  }
  const detail =
    outcome.kind === "interpreter-missing"
      ? `The Python interpreter ${where} could not be started.`
      : `Checking shapels in ${where} failed: ${outcome.kind === "failed" ? outcome.detail : ""}`;
  log("Error", detail);
  const choice = await vscode.window.showErrorMessage(detail, "Choose Interpreter", "Show Output");
  if (choice === "Choose Interpreter") {
    await vscode.commands.executeCommand("workbench.action.openSettings", "shapels.interpreter");
  } else if (choice === "Show Output") {
    output.show(true);
  }
}

/** Server stdout/stderr into the output channel, stderr with the level each line deserves. */
function stdioOptions(): Required<StdioOptions> {
  const lines = (input: NodeJS.ReadableStream, onLine: (line: string) => void) =>
    readline.createInterface({ input, crlfDelay: Infinity, terminal: false, historySize: 0 }).on("line", onLine);
  return {
    stdout: (input, channel) => lines(input, (line) => channel.info(line)),
    stderr: (input, channel) => {
      const classifier = new StderrClassifier();
      lines(input, (line) => channel[classifier.level(line)](line));
    },
  };
}

function isConfirmCommand(command: unknown): boolean {
  return command === SERVER_CONFIRM_COMMAND;
}

async function start(): Promise<void> {
  if (client) return;
  const config = vscode.workspace.getConfiguration("shapels");
  const { server, client: clientSettings, problems } = readSettings((key) => config.get(key));
  for (const problem of problems) log("Warn", problem);
  if (!server.enable) {
    log("Info", "shapels.enable is false; the server is not started.");
    return;
  }
  const workspaceFolder = firstWorkspaceFolder();
  const interpreter = resolveInterpreter({
    setting: clientSettings.interpreter,
    pythonExtensionExecutable: clientSettings.interpreter.trim() ? undefined : await pythonExtensionExecutable(),
    workspaceFolder,
    homeDir: os.homedir(),
    env: process.env,
  });
  lastSource = interpreter.source;
  log("Info", `Interpreter: ${interpreter.python} (${SOURCE_LABEL[interpreter.source]})`);
  const outcome = await probe(interpreter.python, workspaceFolder);
  if (outcome.kind !== "ok") {
    void reportProbeFailure(interpreter, outcome);
    return;
  }
  const trusted = vscode.workspace.isTrusted;
  const { command, args } = serverCommand(interpreter.python);
  log("Info", `Starting shapels ${outcome.version}: ${command} ${args.join(" ")} --stdio (workspace ${trusted ? "trusted" : "untrusted: confirm disabled"})`);

  const serverOptions: ServerOptions = {
    command,
    args,
    transport: TransportKind.stdio,
    options: { cwd: workspaceFolder, env: { ...process.env, PYTHONUNBUFFERED: "1" } },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: "file", language: "python" },
      { scheme: "untitled", language: "python" },
      // Python cells of Jupyter notebooks: the server announces notebookDocumentSync for them, so the
      // client sends notebookDocument/didOpen|didChange|didClose and asks hover, code actions, inlay
      // hints and code lenses of each cell.
      { notebook: { notebookType: NOTEBOOK_TYPE }, language: "python" },
    ],
    outputChannel: output,
    traceOutputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    stdioOptions: stdioOptions(),
    initializationOptions: initializationOptions(server, trusted),
    synchronize: { configurationSection: "shapels" },
    diagnosticCollectionName: "shapels",
    middleware: {
      // Confirm runs the user's code: never in an untrusted workspace, whoever asks for it.
      executeCommand: (cmd, cmdArgs, next) => {
        if (isConfirmCommand(cmd) && !vscode.workspace.isTrusted) {
          void vscode.window.showWarningMessage("shapels: Confirm by Running is disabled in an untrusted workspace.");
          return undefined;
        }
        return next(cmd, cmdArgs);
      },
      provideCodeLenses: async (document, token, next) => {
        const lenses = await next(document, token);
        if (!lenses || vscode.workspace.isTrusted) return lenses;
        return lenses.filter((lens) => !isConfirmCommand(lens.command?.command));
      },
    },
  };
  const newClient = new LanguageClient(CLIENT_ID, "shapels", serverOptions, clientOptions);
  client = newClient;
  try {
    await newClient.start();
    log("Info", "shapels server started.");
  } catch (error) {
    client = undefined;
    log("Error", `The shapels server failed to start: ${errorText(error)}`);
    const choice = await vscode.window.showErrorMessage(
      `The shapels server failed to start: ${errorText(error)}`,
      "Show Output",
    );
    if (choice === "Show Output") output.show(true);
  }
}

async function stop(): Promise<void> {
  const current = client;
  client = undefined;
  if (!current) return;
  try {
    await current.stop(5000);
  } catch (error) {
    log("Warn", `Stopping the server: ${errorText(error)}`);
  }
}

async function restart(): Promise<void> {
  await stop();
  await start();
}

/**
 * Why the server could not run the file at all (bad arguments, an internal failure), or undefined.
 * A run that raised in the model is a result (diagnostics with source "shapels (run)"), not a
 * problem; neither is a refusal, which the server announces itself.
 */
function confirmProblem(result: unknown): string | undefined {
  if (!result || typeof result !== "object") return undefined;
  const r = result as { ok?: unknown; refused?: unknown; device?: unknown; error?: { message?: unknown } };
  if (r.ok !== false || r.refused || r.device !== undefined) return undefined;
  return typeof r.error?.message === "string" ? r.error.message : undefined;
}

async function confirmByRunning(arg?: unknown): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage("shapels: Confirm by Running is disabled in an untrusted workspace.");
    return;
  }
  const uri = arg instanceof vscode.Uri ? arg : vscode.window.activeTextEditor?.document.uri;
  const document = uri && vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  if (!uri || (document && document.languageId !== "python")) {
    void vscode.window.showWarningMessage("shapels: open a Python file to confirm its shapes by running it.");
    return;
  }
  if (!client || !client.isRunning()) {
    const choice = await vscode.window.showWarningMessage("shapels: the server is not running.", "Restart Server", "Show Output");
    if (choice === "Restart Server") await serialized(restart);
    else if (choice === "Show Output") output.show(true);
    return;
  }
  try {
    const result = await client.sendRequest(ExecuteCommandRequest.type, {
      command: SERVER_CONFIRM_COMMAND,
      arguments: [uri.toString()],
    });
    const problem = confirmProblem(result);
    if (problem) {
      log("Error", `Confirm by running: ${problem}`);
      const choice = await vscode.window.showErrorMessage(`shapels: confirm by running: ${problem}`, "Show Output");
      if (choice === "Show Output") output.show(true);
    }
  } catch (error) {
    log("Error", `Confirm by running failed: ${errorText(error)}`);
    const choice = await vscode.window.showErrorMessage(`shapels: confirm by running failed: ${errorText(error)}`, "Show Output");
    if (choice === "Show Output") output.show(true);
  }
}

function registerConfirm(context: vscode.ExtensionContext): void {
  if (confirmRegistration || !vscode.workspace.isTrusted) return;
  confirmRegistration = vscode.commands.registerCommand("shapels.confirmByRunning", confirmByRunning);
  context.subscriptions.push(confirmRegistration);
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  output = vscode.window.createOutputChannel("shapels", { log: true });
  context.subscriptions.push(
    output,
    vscode.commands.registerCommand("shapels.restartServer", () => serialized(restart)),
    vscode.commands.registerCommand("shapels.showOutput", () => output.show(true)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (needsRestart((section) => event.affectsConfiguration(section))) {
        log("Info", "shapels.interpreter or shapels.enable changed; restarting the server.");
        // Later than the client's own didChangeConfiguration for this event, which would fail
        // against a client that is already stopping.
        setTimeout(() => void serialized(restart), 200);
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      log("Info", "The workspace is now trusted: Confirm by Running is enabled.");
      registerConfirm(context);
      void serialized(restart); // the server learns trusted: true
    }),
    { dispose: () => pythonEnvListener?.dispose() },
  );
  registerConfirm(context);
  await serialized(start);
}

export async function deactivate(): Promise<void> {
  await serialized(stop);
}
