import { createHash } from "node:crypto";
import { resolve } from "node:path";

/**
 * rabbitmq_identity_info's rabbitmq_cluster_permanent_id: RabbitMQ makes a random one when the
 * cluster is first formed and keeps it. Warren's is derived from the node name and the data
 * folder, so it stays the same across restarts of one broker and differs between brokers,
 * without a file of its own.
 */
export function clusterPermanentId(node: string, dataDir: string): string {
  const digest = createHash("sha256")
    .update(`${node}\0${resolve(dataDir)}`)
    .digest("base64url");
  return `rabbitmq-cluster-id-${digest.slice(0, 22)}`;
}
