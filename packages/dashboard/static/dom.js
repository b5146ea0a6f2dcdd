// Small DOM helpers the pages share: rows of text cells, buttons, write
// controls a role may not use taken out of the page, and what keeps the page
// usable from the keyboard (focus kept across a table's refresh, panels that
// take focus and close on Escape, a dialog that asks before an action).

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

/**
 * Replaces a table body's rows, keeping the keyboard focus: on the same button
 * of the same row (same data attributes) if it is still there, else on the
 * table, so that the next Tab goes on from where the user was, not from the top.
 */
export function replaceRows(tbody, rows) {
  const active = document.activeElement;
  const tr = active !== null && tbody.contains(active) ? active.closest("tr") : null;
  tbody.replaceChildren(...rows);
  if (tr === null) return;
  const key = JSON.stringify(tr.dataset);
  const again = rows.find((r) => JSON.stringify(r.dataset) === key);
  const same = again && [...again.querySelectorAll("button")].find((b) => b.className === active.className);
  if (same) return same.focus();
  const table = tbody.closest("table");
  table.tabIndex = -1;
  table.focus();
}

/**
 * Shows a panel opened by `opener` (a button, or a function that finds it) and moves the
 * focus to its first usable control; Escape in it calls `close` and gives the focus back to the opener.
 */
export function openPanel(panel, opener, close) {
  panel.hidden = false;
  const first = [...panel.querySelectorAll("button, select, input, textarea, summary")].find((el) => !el.matches(":disabled") && el.offsetParent !== null);
  (first ?? Object.assign(panel, { tabIndex: -1 })).focus();
  panel.onkeydown = (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    close();
    // The opener may have been drawn again meanwhile (a list refreshes): a function finds it anew.
    const back = typeof opener === "function" ? opener() : opener;
    if (back?.isConnected) back.focus();
  };
}

// The question before, settled once its dialog's close event was handled.
let asking = Promise.resolve();

/**
 * Asks before an action (a modal dialog: focus starts on Cancel, Escape
 * cancels); resolves to whether the user chose `action`. A question waits for
 * the close event of the one before (a task of its own, which a quick Escape
 * then Enter can overtake), so that event never answers it.
 */
export function ask(question, action) {
  const asked = asking.then(() => askNow(question, action));
  asking = asked.then(() => {}, () => {});
  return asked;
}

function askNow(question, action) {
  const dialog = $("ask");
  $("ask-text").textContent = question;
  $("ask-yes").textContent = action;
  dialog.returnValue = "";
  const before = document.activeElement;
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => {
    // Back to the control that asked, whatever the browser does with the focus of a closed dialog.
    if (before?.isConnected) before.focus();
    resolve(dialog.returnValue === "yes");
  }, { once: true }));
}
