/** What can run short: RabbitMQ raises the same two alarms. */
export type AlarmResource = "disk" | "memory";

const REASONS: Record<AlarmResource, string> = { disk: "low on disk", memory: "low on memory" };

/**
 * Resource alarms, as RabbitMQ's: while one is set, connections that publish are blocked
 * (connection.blocked, and their sockets are not read) until every alarm clears.
 */
export class Alarms {
  private readonly active = new Set<AlarmResource>();
  private readonly listeners = new Set<(blocked: boolean) => void>();

  get blocked(): boolean {
    return this.active.size > 0;
  }

  /** The reason sent in connection.blocked. */
  get reason(): string {
    return [...this.active].map((r) => REASONS[r]).join(" & ");
  }

  /** The alarms in effect. */
  get resources(): AlarmResource[] {
    return [...this.active];
  }

  has(resource: AlarmResource): boolean {
    return this.active.has(resource);
  }

  set(resource: AlarmResource): void {
    if (this.active.has(resource)) return;
    const was = this.blocked;
    this.active.add(resource);
    if (!was) this.notify();
  }

  clear(resource: AlarmResource): void {
    if (!this.active.delete(resource)) return;
    if (!this.blocked) this.notify();
  }

  subscribe(listener: (blocked: boolean) => void): void {
    this.listeners.add(listener);
  }

  unsubscribe(listener: (blocked: boolean) => void): void {
    this.listeners.delete(listener);
  }

  private notify(): void {
    for (const listener of this.listeners) listener(this.blocked);
  }
}
