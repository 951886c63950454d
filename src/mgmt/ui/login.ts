/** The login screen: credentials checked against /api/whoami before anything else is shown. */
import { ApiError, type Api, type Json } from "./api.js";
import { h } from "./dom.js";

export function loginScreen(api: Api, onLogin: (whoami: Json) => void, notice?: string): HTMLElement {
  const status = h("p", { class: "status error", role: "alert" }, notice ?? "");
  const username = h("input", { name: "username", autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password" });
  const remember = h("input", { type: "checkbox", name: "remember" });
  const button = h("button", { type: "submit", class: "primary" }, "Log in");
  const element = h(
    "form",
    { class: "login" },
    h("div", { class: "brand big" }, h("img", { src: "/ui/favicon.svg", alt: "" }), "Warren"),
    h("label", {}, "Username", username),
    h("label", {}, "Password", password),
    h("label", { class: "check" }, remember, "Stay logged in on this browser"),
    button,
    status,
  );
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    status.textContent = "";
    try {
      onLogin(await api.login(username.value, password.value, remember.checked));
    } catch (err) {
      if (!(err instanceof ApiError)) status.textContent = `Cannot reach the broker: ${String(err)}`;
      else if (err.message === "Login failed") status.textContent = "Login failed: wrong username or password.";
      else status.textContent = `Login refused: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  });
  return h("main", { class: "login-screen" }, element);
}
