/**
 * Processes a test started that must not outlive it: when the test runner kills the test file's
 * process (its per-file timeout sends SIGTERM), their SIGKILL goes out first. Without this, a
 * broker started through npx or unshare (not a direct child) would keep running after the test.
 */
const targets = new Set<number>();

function killAll(): void {
  for (const target of targets) {
    try {
      process.kill(target, "SIGKILL");
    } catch {
      // gone already
    }
  }
}

let installed = false;

/** Kill `target` (a pid, or a negative process group id) if this process is killed or exits; returns the undo. */
export function stopOnKill(target: number): () => void {
  targets.add(target);
  if (!installed) {
    installed = true;
    process.once("exit", killAll);
    process.once("SIGTERM", () => {
      killAll();
      process.exit(143);
    });
  }
  return () => targets.delete(target);
}
