import { UserStore } from "../access/user-store.js";
import { VHost } from "./vhost.js";

/** The broker's whole model: vhosts and users. Knows nothing about sockets. */
export class Broker {
  readonly vhosts = new Map<string, VHost>();
  readonly users = new UserStore();

  addVhost(name: string): VHost {
    let vhost = this.vhosts.get(name);
    if (vhost === undefined) this.vhosts.set(name, (vhost = new VHost(name)));
    return vhost;
  }
}
