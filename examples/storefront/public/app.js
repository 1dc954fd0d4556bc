// Keeps the page in step with what the visitor shared: asks /api/me every second and, when the answer differs
// from the one the page was drawn from (main#app's data-me), fetches the page again and swaps its content in.
// No values are handled here: the server renders (and escapes) everything.
"use strict";

(() => {
  const POLL_MS = 1000;
  let busy = false;

  async function refresh() {
    const app = document.getElementById("app");
    if (!app || app.dataset.me === "null" || busy) return;
    busy = true;
    try {
      const me = await fetch("/api/me", { credentials: "same-origin", cache: "no-store" });
      if (!me.ok) return;
      const text = await me.text();
      if (text === app.dataset.me) return;
      const page = await fetch(location.pathname, { credentials: "same-origin", cache: "no-store" });
      if (!page.ok) return;
      const doc = new DOMParser().parseFromString(await page.text(), "text/html");
      const fresh = doc.getElementById("app");
      if (fresh) app.replaceWith(document.adoptNode(fresh));
    } catch {
      // The shop is unreachable for a moment: try again at the next tick.
    } finally {
      busy = false;
    }
  }

  setInterval(refresh, POLL_MS);
})();
