/* Search: the box in the header, its result list (a combobox) and flying to the chosen place. */
import { el, $, clear } from "./dom.js";
import { I18N, t, pick } from "./i18n.js";
import { fetchJSON } from "./net.js";
import { store, layerTitle } from "./state.js";
import { select } from "./popups.js";
import { closeDrawerOnNarrow } from "./panel.js";
import { addToCompare, comparable } from "./compare.js";

const REGION_LAYERS = new Set(["counties", "cities", "pilot-counties"]);

/** A small "compare" control on a county or city result, for the mouse: an option's content is presentational,
 * so it is no button there (aria-hidden); from the keyboard, Shift+Enter adds the highlighted result. */
function compareAction(r, name) {
  if (r.suggestion || !REGION_LAYERS.has(r.layer) || !comparable(r.id)) return null;
  const btn = el("span", {
    className: "sr-compare", // its label is drawn by CSS (data-label), so the result's text stays the place
    attrs: { "aria-hidden": "true", title: t("compare.add.title", { name }), "data-label": t("compare.add"), "data-testid": "search-compare" },
  });
  btn.addEventListener("mousedown", (e) => e.preventDefault()); // keep focus in the input
  btn.addEventListener("click", (e) => { e.stopPropagation(); addToCompare(String(r.id)); });
  return btn;
}

export function initSearch() {
  const input = $("#search-input");
  const list = $("#search-results");
  let timer = null, seq = 0, results = [], active = -1;

  function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); active = -1; }
  function setActive(i) {
    const items = list.querySelectorAll("li[role=option]");
    items.forEach((li, k) => li.setAttribute("aria-selected", k === i ? "true" : "false"));
    active = i;
    if (items[i]) { input.setAttribute("aria-activedescendant", items[i].id); items[i].scrollIntoView({ block: "nearest" }); }
  }
  function render() {
    clear(list);
    if (!results.length) {
      list.appendChild(el("li", { className: "none", text: t("search.none"), attrs: { role: "presentation" } }));
    } else if (results.every((r) => r.suggestion)) {
      list.appendChild(el("li", { className: "none", text: t("search.none"), attrs: { role: "presentation" } }));
    }
    results.forEach((r, i) => {
      const metaBits = [r.kind ? t("kind." + r.kind) : layerTitle(r.layer), r.city && r.city !== r.name ? r.city : null]
        .filter((x, k, a) => x && a.indexOf(x) === k);
      const name = pick(r, "name") || r.name;
      const note = pick(r, "note"); // what became of a former name, or "did you mean …" for a suggestion
      const li = el("li", {
        className: r.suggestion ? "suggestion" : "",
        attrs: { role: "option", id: "sr-" + i, "aria-selected": "false", "data-testid": "search-result" },
        dataset: { layer: r.layer, fid: String(r.id) },
      }, el("span", { className: "sr-name", text: r.suggestion ? note : name }),
      (I18N.lang === "en" && r.name && r.name !== name) ? el("span", { className: "sr-alt", text: r.name }) : null,
      el("span", { className: "sr-meta", text: metaBits.join(" · ") }),
      (note && !r.suggestion) ? el("span", { className: "sr-note", text: note }) : null,
      compareAction(r, name));
      li.addEventListener("mousedown", (e) => e.preventDefault()); // keep focus in the input
      li.addEventListener("click", () => choose(i));
      list.appendChild(li);
    });
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }
  async function run() {
    const q = input.value.trim();
    if (!q) { results = []; close(); return; }
    const my = ++seq;
    try {
      const body = await fetchJSON(`/api/search?q=${encodeURIComponent(q)}`);
      if (my !== seq) return;
      results = (body && Array.isArray(body.results)) ? body.results.filter((r) => store.has(r.layer)) : [];
      render();
      if (results.length) setActive(0);
    } catch (e) {
      if (my !== seq) return;
      results = [];
      clear(list).appendChild(el("li", { className: "none", text: t("search.error") + t("colon") + e.message }));
      list.hidden = false;
    }
  }
  function choose(i) {
    const r = results[i];
    if (!r) return;
    input.value = pick(r, "name") || r.name;
    close();
    input.blur();
    select(r.layer, String(r.id), { fly: true });
    closeDrawerOnNarrow();
  }
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 160); });
  input.addEventListener("focus", () => { if (results.length && input.value.trim()) render(); });
  input.addEventListener("blur", () => setTimeout(close, 150));
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown") { e.preventDefault(); if (list.hidden && results.length) render(); setActive(Math.min(results.length - 1, active + 1)); }
    else if (e.key === "ArrowUp") { e.preventDefault(); setActive(Math.max(0, active - 1)); }
    else if (e.key === "Enter" && e.shiftKey && !list.hidden && results[active >= 0 ? active : 0]) {
      e.preventDefault();
      const r = results[active >= 0 ? active : 0];
      if (REGION_LAYERS.has(r.layer) && !r.suggestion) addToCompare(String(r.id));
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (!list.hidden && results.length) choose(active >= 0 ? active : 0);
      else { clearTimeout(timer); run(); }
    } else if (e.key === "Escape") { close(); }
  });
  return { rerender() { if (!list.hidden && results.length) render(); } };
}
