/* DOM helpers: build nodes with textContent (data never becomes HTML) and vet style values. */
import { I18N } from "./i18n.js";

/** el("div", {className, text, title, dataset, attrs, on}, ...children): children may be nodes or text. */
export function el(tag, opts, ...children) {
  const node = document.createElement(tag);
  opts = opts || {};
  if (opts.className) node.className = opts.className;
  if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
  if (opts.title) node.title = opts.title;
  if (opts.dataset) Object.entries(opts.dataset).forEach(([k, v]) => { node.dataset[k] = v; });
  if (opts.attrs) Object.entries(opts.attrs).forEach(([k, v]) => { if (v !== undefined && v !== null) node.setAttribute(k, v); });
  if (opts.on) Object.entries(opts.on).forEach(([k, v]) => node.addEventListener(k, v));
  children.flat().forEach((c) => {
    if (c === null || c === undefined || c === false) return;
    node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  });
  return node;
}
export const $ = (sel) => document.querySelector(sel);
export function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

/** Only colours that look like colours reach a style attribute. */
export function safeColor(c, fallback) {
  return typeof c === "string" && /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$/.test(c) ? c : fallback;
}
export function safeDash(d) { return typeof d === "string" && /^[0-9 .,]+$/.test(d) ? d : null; }
export function cssId(id) { return String(id).replace(/[^A-Za-z0-9_-]/g, "_"); }
export function fmtValue(v) {
  if (typeof v === "number") return v.toLocaleString(I18N.lang === "en" ? "en-US" : "zh-CN", { maximumFractionDigits: 4 });
  return v === null || v === undefined ? "" : String(v);
}
