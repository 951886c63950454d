import { chmodSync, mkdirSync, statSync } from "node:fs";
import type { Logger } from "../logger.js";
import { DIR_MODE } from "./store-fs.js";

/**
 * Make sure only the user running Warren can read or change the data folder (it holds password
 * hashes and message bodies). Created 0700 when missing. Refused, with an error saying why, when
 * it belongs to another user or group or others may write to it (they could plant or swap files);
 * tightened to 0700, with a log line, when others may only read it.
 */
export function secureDataDir(dir: string, log: Logger): void {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new Error(`data folder ${dir} is not a folder`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new Error(
      `data folder ${dir} belongs to uid ${st.uid}, not to the user running Warren (uid ${uid}); refusing to start. ` +
        `Give it to this user (chown) or choose another --data-dir`,
    );
  }
  const mode = st.mode & 0o777;
  if ((mode & 0o022) !== 0) {
    throw new Error(
      `data folder ${dir} is writable by ${mode & 0o020 ? "its group" : "others"} (mode ${mode.toString(8).padStart(4, "0")}); ` +
        `refusing to start. Make it private: chmod 700 ${dir}`,
    );
  }
  if ((mode & 0o077) !== 0) {
    chmodSync(dir, DIR_MODE);
    log.warn(
      { event: "store.data_dir_mode", dir, was: mode.toString(8).padStart(4, "0"), now: "0700" },
      `data folder ${dir} was readable by other users: made it 0700`,
    );
  }
}
