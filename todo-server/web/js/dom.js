// Building the page from data. Text always goes in as text (textContent), never as markup, so a
// title like `<img src=x onerror=alert(1)>` shows literally.

/**
 * Creates an element: `h("li", {class: "task", "aria-label": "x"}, child, "text", ...)`.
 * Attribute values `false`/`null`/`undefined` are left out, `true` sets an empty attribute; `on*`
 * functions become event listeners; strings among the children become text nodes.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** The element with this id (it must exist: the page is ours). */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`no element #${id}`);
  return el;
}

/** Calls `fn` once `ms` after the last call. */
export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Announces `message` to assistive technology and shows it briefly. */
export function toast(message) {
  const region = byId("toasts");
  const item = h("p", { class: "toast" }, message);
  region.append(item);
  while (region.children.length > 3) region.firstElementChild.remove();
  setTimeout(() => item.remove(), 5000);
}
