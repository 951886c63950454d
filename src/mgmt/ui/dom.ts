/** Building the page from plain DOM calls: no framework, no innerHTML (names are shown as text). */

type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | EventListener | undefined>;

/**
 * An element with attributes and children: `h("a", { href: "#/" }, "Overview")`. Attributes named
 * `on…` with a function become event listeners; `false` and `undefined` ones are left out.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

/** Appends children, skipping empty ones; strings become text nodes. */
export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A hash link into the app: `link(["queues", vhost, name], name)`. */
export function link(segments: readonly string[], ...children: Child[]): HTMLAnchorElement {
  return h("a", { href: route(segments) }, ...children);
}

/** The hash route of a page: segments percent-encoded, so a "/" in a name stays one segment. */
export function route(segments: readonly string[]): string {
  return `#/${segments.map(encodeURIComponent).join("/")}`;
}

/** A titled section of a page. */
export function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", { class: "panel" }, h("h2", {}, title), ...children);
}

/** A two-column table of label → value. */
export function facts(rows: ReadonlyArray<readonly [string, Child]>): HTMLElement {
  return h("dl", { class: "facts" }, ...rows.flatMap(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]));
}
