/**
 * Forms that call the API: fields described as data, a submit that shows the API's answer
 * (RabbitMQ's `reason` text on failure) beside the button, and buttons that ask first.
 */
import { ApiError } from "./api.js";
import { h } from "./dom.js";

export interface Field {
  name: string;
  label: string;
  type?: "text" | "password" | "number" | "select" | "checkbox" | "textarea";
  options?: readonly string[];
  /** What the user reads for an option, when not its value. */
  optionLabels?: Readonly<Record<string, string>>;
  value?: string | boolean;
  placeholder?: string;
  required?: boolean;
  /** A hint under the field. */
  hint?: string;
}

export type Values = Record<string, string | boolean>;

/** A form; `submit` returns the text to show on success, and its failure's message is shown too. */
export function form(
  fields: readonly Field[],
  submitLabel: string,
  submit: (values: Values, form: HTMLFormElement) => Promise<string | void>,
): HTMLFormElement {
  const status = h("output", { class: "status", role: "status" });
  const button = h("button", { type: "submit", class: "primary" }, submitLabel);
  const element = h("form", { class: "form" }, ...fields.map(fieldElement), h("div", { class: "actions" }, button, status));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    status.className = "status";
    status.textContent = "…";
    try {
      const message = await submit(readValues(element, fields), element);
      status.className = "status ok";
      status.textContent = message ?? "Done.";
    } catch (err) {
      status.className = "status error";
      status.textContent = errorText(err);
    } finally {
      button.disabled = false;
    }
  });
  return element;
}

function fieldElement(field: Field): HTMLElement {
  const id = `f-${field.name}-${Math.random().toString(36).slice(2, 8)}`;
  let input: HTMLElement;
  switch (field.type) {
    case "select":
      input = h(
        "select",
        { id, name: field.name },
        ...(field.options ?? []).map((o) => h("option", { value: o, selected: o === field.value }, field.optionLabels?.[o] ?? (o === "" ? "(none)" : o))),
      );
      break;
    case "textarea":
      input = h("textarea", { id, name: field.name, rows: 3, placeholder: field.placeholder }, typeof field.value === "string" ? field.value : "");
      break;
    case "checkbox":
      return h("label", { class: "check" }, h("input", { type: "checkbox", name: field.name, checked: field.value === true }), field.label);
    default:
      input = h("input", {
        id,
        name: field.name,
        type: field.type ?? "text",
        value: typeof field.value === "string" ? field.value : undefined,
        placeholder: field.placeholder,
        required: field.required,
        autocomplete: field.type === "password" ? "new-password" : "off",
      });
  }
  return h("div", { class: "field" }, h("label", { for: id }, field.label), input, field.hint === undefined ? null : h("small", {}, field.hint));
}

function readValues(element: HTMLFormElement, fields: readonly Field[]): Values {
  const values: Values = {};
  for (const field of fields) {
    const input = element.elements.namedItem(field.name) as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement | null;
    if (input === null) continue;
    values[field.name] = field.type === "checkbox" ? (input as HTMLInputElement).checked : input.value;
  }
  return values;
}

/** The text to show for a failed call: RabbitMQ's reason when the API gave one. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return `${err.status}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** A button that asks for confirmation (when given a question) before acting. */
export function actionButton(label: string, question: string | undefined, action: () => Promise<void>, kind = "danger"): HTMLButtonElement {
  const button = h("button", { type: "button", class: kind }, label);
  button.addEventListener("click", async () => {
    if (question !== undefined && !confirm(question)) return;
    button.disabled = true;
    try {
      await action();
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/**
 * Arguments typed one per line as `name = value`: numbers become numbers, true/false booleans,
 * anything else a string (as RabbitMQ's UI types them).
 */
export function parseArguments(text: string): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const equals = line.indexOf("=");
    if (equals < 1) throw new Error(`"${line.trim()}": write arguments as name = value`);
    const name = line.slice(0, equals).trim();
    const raw = line.slice(equals + 1).trim();
    args[name] = /^-?\d+(\.\d+)?$/.test(raw) ? Number(raw) : raw === "true" ? true : raw === "false" ? false : raw;
  }
  return args;
}

/** How many levels of nested tables keyValues lays out; a client's table can nest ~18,000. */
const KEY_VALUES_LEVELS = 16;

/**
 * A table of key → value (arguments, client properties, message headers). Tables nested past
 * KEY_VALUES_LEVELS, and values too deep for JSON.stringify, show as "…" (the API has them all).
 */
export function keyValues(object: unknown, level = 0): HTMLElement {
  if (object === null || typeof object !== "object" || Object.keys(object).length === 0) return h("span", { class: "muted" }, "none");
  if (level >= KEY_VALUES_LEVELS) return h("span", { class: "muted", title: "nested deeper: the HTTP API shows it" }, "…");
  return h(
    "dl",
    { class: "kv" },
    ...Object.entries(object as Record<string, unknown>).flatMap(([k, v]) => [
      h("dt", {}, k),
      h("dd", {}, v !== null && typeof v === "object" && !Array.isArray(v) ? keyValues(v, level + 1) : typeof v === "string" ? v : jsonOrEllipsis(v)),
    ]),
  );
}

function jsonOrEllipsis(v: unknown): string {
  try {
    return JSON.stringify(v);
  } catch {
    return "…"; // nested deeper than JSON.stringify goes
  }
}
