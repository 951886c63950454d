/** A part of the Admin page: its element and how it reloads on each poll. */
export interface AdminSection {
  root: HTMLElement;
  refresh(): Promise<void>;
}
