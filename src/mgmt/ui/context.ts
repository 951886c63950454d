/** What every page gets from the app, and what it gives back. */
import type { Api } from "./api.js";

export interface AppContext {
  api: Api;
  /** The logged-in user, from /api/whoami. */
  user: { name: string; tags: string[] };
  /** The vhost chosen in the header, or undefined for all of them. */
  vhost(): string | undefined;
  /** The vhosts the user may see (for forms). */
  vhosts(): string[];
  /** Goes to another page (route segments, unencoded). */
  navigate(segments: readonly string[]): void;
  /** A short message at the top of the screen. */
  notify(message: string, kind?: "ok" | "error"): void;
}

/** A page: its element, and a refresh the app calls on every poll while the page is shown. */
export interface Page {
  title: string;
  root: HTMLElement;
  refresh(): Promise<void>;
  dispose?(): void;
}

/** Whether the user is an administrator (the pages hide what only administrators may do). */
export function isAdministrator(ctx: AppContext): boolean {
  return ctx.user.tags.includes("administrator");
}
