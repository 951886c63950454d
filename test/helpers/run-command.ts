import { spawn } from "node:child_process";

/** How a command ended, and what it wrote. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  /** The child's whole environment (this process's when absent). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to its stdin, which is then closed (closed at once when absent). */
  stdin?: string;
  /** Killed with SIGKILL after this long. */
  timeoutMs: number;
}

/** Run a command to its end and collect its output (tests run tools, scripts and nested suites). */
export function runCommand(command: string, args: string[], options: CommandOptions): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? "");
  });
}
