import { UserStore } from "../access/user-store.js";
import { Alarms } from "./alarms.js";
import type { DefinitionsJournal } from "./journal.js";
import type { QueueStorage } from "./queue-storage.js";
import { VHost } from "./vhost.js";

/** The broker's whole model: vhosts and users. Knows nothing about sockets or files. */
export class Broker {
  readonly vhosts = new Map<string, VHost>();
  readonly users = new UserStore();
  readonly alarms = new Alarms();

  constructor(
    private readonly storage?: QueueStorage,
    private readonly journal?: DefinitionsJournal,
  ) {}

  addVhost(name: string): VHost {
    let vhost = this.vhosts.get(name);
    if (vhost === undefined) {
      this.vhosts.set(name, (vhost = new VHost(name, this.storage, this.journal)));
      this.journal?.vhostAdded(name);
    }
    return vhost;
  }
}
