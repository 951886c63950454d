import type { Broker } from "../broker/broker.js";
import type { Logger } from "../logger.js";
import type { DefinitionOp } from "../store/definitions-store.js";
import { DEFAULT_HASHING_ALGORITHM, isHashingAlgorithm } from "./password.js";

/**
 * Apply one user or permission record of the definitions log to the broker at startup (journal
 * off). Returns false for records that are not about access.
 */
export function restoreAccessOp(broker: Broker, op: DefinitionOp, log: Logger): boolean {
  switch (op.op) {
    case "user.put":
      broker.users.put({
        name: op.name,
        passwordHash: op.passwordHash,
        hashingAlgorithm: isHashingAlgorithm(op.hashingAlgorithm) ? op.hashingAlgorithm : DEFAULT_HASHING_ALGORITHM,
        tags: op.tags,
      });
      return true;
    case "permission.set":
      try {
        broker.permissions.set(op.user, op.vhost, op.configure, op.write, op.read);
      } catch (err) {
        // Only a pattern this Warren cannot compile gets here; refusing to start would lock everybody out.
        log.error({ event: "store.bad_permission", user: op.user, vhost: op.vhost, err }, "skipped a permission that does not compile");
      }
      return true;
    case "topic_permission.set":
      try {
        broker.topicPermissions.set(op.user, op.vhost, op.exchange, op.write, op.read);
      } catch (err) {
        log.error(
          { event: "store.bad_permission", user: op.user, vhost: op.vhost, exchange: op.exchange, err },
          "skipped a topic permission that does not compile",
        );
      }
      return true;
    case "user.delete":
    case "permission.clear":
    case "topic_permission.clear":
      return true; // folded away before restore
    default:
      return false;
  }
}
