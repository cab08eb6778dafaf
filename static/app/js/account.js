/* Who is signed in (GET /api/me): the header's sign-in link or name + sign-out form, and the CSRF token
 * other modules send with their writes. Editors also get the "Import a list" button. */
import { el, $, clear } from "./dom.js";
import { fetchJSON } from "./net.js";
import { I18N, t } from "./i18n.js";

export const me = { user: null, role: null, csrf: null };
const RANK = { reader: 0, editor: 1, admin: 2 };
export const canEdit = () => !!me.user && (RANK[me.role] || 0) >= RANK.editor;

export async function initAccount() {
  try {
    const body = await fetchJSON("/api/me");
    me.user = body.user || null;
    me.role = body.role || null;
    me.csrf = body.csrf_token || null;
  } catch (e) { /* reading needs no sign-in; show the link */ }
  renderAccount();
  return me;
}

/** The sign-in link, or the name and the sign-out button, in the current language (rebuilt on a switch). */
export function renderAccount() {
  const box = clear($("#account"));
  if (!me.user) {
    box.appendChild(el("a", { className: "account-link", text: t("account.signIn"),
      attrs: { href: `/login?next=/&lang=${I18N.lang}`, "data-testid": "sign-in" } }));
  } else {
    box.appendChild(el("span", { className: "account-name", text: me.user, attrs: { "data-testid": "account-name" } }));
    const form = el("form", { className: "account-out", attrs: { method: "post", action: "/logout" } },
      el("input", { attrs: { type: "hidden", name: "csrf_token", value: me.csrf || "" } }),
      el("button", { className: "account-link", text: t("account.signOut"), attrs: { type: "submit", "data-testid": "sign-out" } }));
    box.appendChild(form);
  }
  const btn = $("#import-open");
  if (btn) btn.hidden = !canEdit();
}
