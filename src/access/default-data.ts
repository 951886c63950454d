import type { Broker } from "../broker/broker.js";
import type { Options } from "../config/options.js";
import type { Logger } from "../logger.js";

/**
 * Whether the broker is blank: no users, no permissions and no vhosts. RabbitMQ seeds its default
 * user and vhost only then (rabbit_table:needs_default_data), so deleting guest, or every vhost,
 * is not undone by a restart.
 */
export function needsDefaultData(broker: Broker): boolean {
  return broker.users.size === 0 && broker.permissions.size === 0 && broker.vhosts.size === 0;
}

/**
 * First start: the default vhost, the default user with its tags (administrator) and its
 * permissions on that vhost (".*" for all three), from the settings.
 */
export function seedDefaultData(broker: Broker, options: Options, log: Logger): void {
  const vhost = options.defaultVhost;
  broker.addVhost(vhost, { description: "Default virtual host", tags: [] });
  broker.users.create(options.defaultUser, options.defaultPass, options.defaultUserTags);
  broker.permissions.set(options.defaultUser, vhost, options.defaultPermissionsConfigure, options.defaultPermissionsWrite, options.defaultPermissionsRead);
  log.info({ event: "access.seeded", user: options.defaultUser, vhost }, `created default user '${options.defaultUser}' and vhost '${vhost}'`);
}
