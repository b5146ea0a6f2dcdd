// Small DOM helpers the pages share: rows of text cells, buttons, and
// write controls a role may not use taken out of the page.

/** The element with an id. */
export const $ = (id) => document.getElementById(id);

/** A table row of text cells (never HTML), with data attributes. */
export function row(cells, data = {}) {
  const tr = document.createElement("tr");
  Object.assign(tr.dataset, data);
  for (const text of cells) tr.appendChild(document.createElement("td")).textContent = text;
  return tr;
}

/** A button with a class, a visible text and a label for screen readers. */
export function button(className, text, label, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = text;
  b.setAttribute("aria-label", label);
  b.addEventListener("click", onClick);
  return b;
}

/** Takes out of the page every control with a class the role may not use (the API would refuse them anyway). */
export function dropControls(root, allowed) {
  for (const [what, ok] of Object.entries(allowed)) {
    if (!ok) for (const el of root.querySelectorAll(`.write-${what}`)) el.remove();
  }
}

/** Runs a page's actions: a refusal goes to the page's error line, a success clears one an action raised. */
export const acting = (session) => async (action) => {
  try {
    await action();
    if ($("app-error").dataset.from === "action") $("app-error").hidden = true;
  } catch (e) {
    session.error(e);
  }
};
