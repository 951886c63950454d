import type { User } from "./user-store.js";
import type { Permission } from "./permissions.js";
import type { TopicPermission } from "./topic-permissions.js";

/**
 * Told of every change to users and permissions; the definitions store implements it so that
 * they survive a restart. The access model does not know about files.
 */
export interface AccessJournal {
  userPut(user: User): void;
  userDeleted(name: string): void;
  permissionSet(user: string, vhost: string, permission: Permission): void;
  permissionCleared(user: string, vhost: string): void;
  topicPermissionSet(permission: TopicPermission): void;
  topicPermissionCleared(user: string, vhost: string, exchange: string): void;
}
