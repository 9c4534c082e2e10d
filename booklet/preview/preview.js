// The preview page: spreads of the last good build, kept in place across rebuilds.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const THUMB_HEIGHT = 64; // px of a thumbnail's page in the strip
  const MAX_SCALE = 1.25; // never blow a page up much past its drawn size: it would blur

  let state = null; // the server's /state.json
  let editionName = null;
  let current = 0; // index of the spread on show
  let guides = false;
  let connected = false;

  // The place lives in the address (#print/3), so that a reload, too, keeps it.
  function readPlace() {
    const [name, spread] = decodeURIComponent(location.hash.slice(1)).split("/");
    if (name) editionName = name;
    const number = parseInt(spread, 10);
    if (number > 0) current = number - 1;
  }

  function writePlace() {
    const edition = currentEdition();
    if (edition) history.replaceState(null, "", `#${encodeURIComponent(edition.name)}/${current + 1}`);
  }

  function currentEdition() {
    if (!state) return null;
    return state.editions.find((e) => e.name === editionName) || state.editions[0] || null;
  }

  async function load() {
    try {
      const response = await fetch("/state.json", { cache: "no-store" });
      state = await response.json();
    } catch (error) {
      return; // the event stream reconnects and asks again
    }
    render();
  }

  // --- drawing -------------------------------------------------------------

  function el(tag, className, attributes = {}) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    return node;
  }

  function px(node, styles) {
    for (const [key, value] of Object.entries(styles)) node.style[key] = `${value}px`;
  }

  // The part of a page's image on show: the trimmed page, or with guides the page and its
  // bleed on the three outer sides (the bleed at the fold is never seen in a bound copy).
  function viewBox(page, side) {
    const [x, y, w, h] = page.trim;
    if (!guides) return { x, y, w, h };
    if (side === "left") return { x: 0, y: 0, w: x + w, h: page.height };
    return { x, y: 0, w: page.width - x, h: page.height };
  }

  function pageView(page, side, scale, edition, withText) {
    const box = viewBox(page, side);
    const node = el("div", `page ${side}`);
    px(node, { width: box.w * scale, height: box.h * scale });
    const img = el("img", "", { alt: `Page ${page.number}`, src: page.src, draggable: "false" });
    if (withText) img.dataset.text = page.text;
    img.dataset.page = page.number;
    px(img, { left: -box.x * scale, top: -box.y * scale, width: page.width * scale, height: page.height * scale });
    node.append(img);
    if (guides && withText) {
      const [x, y, w, h] = page.trim;
      const trim = el("div", "guide-trim");
      px(trim, { left: (x - box.x) * scale, top: (y - box.y) * scale, width: w * scale, height: h * scale });
      const safe = el("div", "guide-safe");
      const inset = edition.safe * scale;
      px(safe, { left: inset, top: inset, right: inset, bottom: inset });
      trim.append(safe);
      node.append(trim);
    }
    return node;
  }

  function slot(other, side, scale) {
    const box = viewBox(other, side);
    const node = el("div", "slot");
    px(node, { width: box.w * scale, height: box.h * scale });
    return node;
  }

  function spreadView(edition, pair, scale, withText) {
    const node = el("div", "pair");
    const [left, right] = pair.map((n) => (n ? edition.pages[n - 1] : null));
    node.append(left ? pageView(left, "left", scale, edition, withText) : slot(right, "left", scale));
    node.append(right ? pageView(right, "right", scale, edition, withText) : slot(left, "right", scale));
    return node;
  }

  function label(pair) {
    return pair.filter((n) => n).join("–");
  }

  function fitScale(edition, pair) {
    const stage = $("stage");
    const [left, right] = pair.map((n) => (n ? edition.pages[n - 1] : null));
    const a = viewBox(left || right, "left");
    const b = viewBox(right || left, "right");
    const width = a.w + b.w;
    const height = Math.max(a.h, b.h);
    const room = { w: stage.clientWidth - 64, h: stage.clientHeight - 56 };
    return Math.max(0.1, Math.min(room.w / width, room.h / height, MAX_SCALE));
  }

  async function renderSpread() {
    const edition = currentEdition();
    const holder = $("spread");
    $("empty").hidden = !!(edition && edition.pages.length);
    $("empty").textContent = state && state.error ? "No pages yet: fix the error above to see them." : "Building the first edition…";
    if (!edition || !edition.pages.length) {
      holder.replaceChildren();
      $("where").textContent = "–";
      return;
    }
    current = Math.max(0, Math.min(current, edition.spreads.length - 1));
    const pair = edition.spreads[current];
    const view = spreadView(edition, pair, fitScale(edition, pair), true);
    view.dataset.pages = label(pair);
    // Swap only once the new images are decoded, so an update never flashes blank.
    const images = [...view.querySelectorAll("img")];
    const token = (renderSpread.token = (renderSpread.token || 0) + 1);
    await Promise.all(images.map((img) => img.decode().catch(() => null)));
    if (token !== renderSpread.token) return; // a newer render has begun
    holder.replaceChildren(view);
    holder.classList.toggle("guides", guides);
    const pages = `${pair[0] && pair[1] ? "Pages" : "Page"} ${label(pair)}`;
    $("where").textContent = `${pages} · spread ${current + 1} of ${edition.spreads.length}`;
    $("prev").disabled = current === 0;
    $("next").disabled = current === edition.spreads.length - 1;
    markThumb();
    writePlace();
  }

  function renderStrip() {
    const edition = currentEdition();
    const strip = $("strip");
    if (!edition) {
      strip.replaceChildren();
      return;
    }
    const thumbs = edition.spreads.map((pair, index) => {
      const button = el("button", "thumb", { type: "button", "aria-label": `Pages ${label(pair)}` });
      button.dataset.index = index;
      const page = edition.pages[(pair[0] || pair[1]) - 1];
      const saved = guides;
      guides = false; // thumbnails always show the trimmed pages
      button.append(spreadView(edition, pair, THUMB_HEIGHT / page.trim[3], false));
      guides = saved;
      button.append(el("span", "label"));
      button.lastChild.textContent = label(pair);
      button.addEventListener("click", () => go(index));
      return button;
    });
    strip.replaceChildren(...thumbs);
    markThumb();
  }

  function markThumb() {
    for (const thumb of $("strip").children) {
      const on = Number(thumb.dataset.index) === current;
      thumb.classList.toggle("current", on);
      if (on) thumb.setAttribute("aria-current", "true");
      else thumb.removeAttribute("aria-current");
      if (on) thumb.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  }

  function renderEditions() {
    const nav = $("editions");
    const editions = state ? state.editions : [];
    const edition = currentEdition();
    nav.replaceChildren(
      ...editions.map((e) => {
        const button = el("button", e === edition ? "on" : "", { type: "button", "aria-pressed": String(e === edition) });
        button.textContent = e.name;
        button.addEventListener("click", () => {
          editionName = e.name;
          render();
        });
        return button;
      }),
    );
    nav.hidden = editions.length < 2;
    const pdf = $("pdf");
    pdf.hidden = !edition;
    if (edition) pdf.href = edition.pdf;
    const facts = [];
    if (edition && edition.trim_mm) {
      facts.push(`${edition.trim_mm[0]} × ${edition.trim_mm[1]} mm`);
      if (edition.bleed_mm) facts.push(`bleed ${edition.bleed_mm} mm`);
      facts.push(`${edition.pages.length} pages`);
    }
    $("facts").textContent = facts.join(" · ");
  }

  function renderError() {
    const error = state && state.error;
    $("error").hidden = !error;
    $("error-text").textContent = error || "";
    $("spread").classList.toggle("stale", !!error);
  }

  function renderStatus() {
    const status = $("status");
    let kind = "ok";
    let text = "";
    if (!connected) [kind, text] = ["off", "Reconnecting…"];
    else if (!state || state.building) [kind, text] = ["busy", "Rebuilding…"];
    else if (state.error) [kind, text] = ["bad", "Build failed"];
    else if (state.built_at) {
      const time = new Date(state.built_at * 1000).toLocaleTimeString();
      text = `Built ${time} in ${state.seconds.toFixed(1)} s`;
    }
    status.className = `status ${kind}`;
    status.lastChild.textContent = text;
  }

  function render() {
    if (state) {
      $("title").textContent = state.title || "booklet";
      document.title = `${state.title || "booklet"} — preview`;
    }
    renderEditions();
    renderError();
    renderStatus();
    renderStrip();
    renderSpread();
  }

  // --- moving about --------------------------------------------------------

  function go(index) {
    const edition = currentEdition();
    if (!edition) return;
    current = Math.max(0, Math.min(index, edition.spreads.length - 1));
    renderSpread();
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const edition = currentEdition();
    const last = edition ? edition.spreads.length - 1 : 0;
    const moves = { ArrowLeft: current - 1, ArrowRight: current + 1, PageUp: current - 1, PageDown: current + 1, Home: 0, End: last };
    if (event.key in moves) {
      event.preventDefault();
      go(moves[event.key]);
    } else if (event.key === "g") {
      $("guides").checked = !$("guides").checked;
      $("guides").dispatchEvent(new Event("change"));
    }
  });

  $("prev").addEventListener("click", () => go(current - 1));
  $("next").addEventListener("click", () => go(current + 1));
  $("guides").addEventListener("change", () => {
    guides = $("guides").checked;
    renderSpread();
  });

  let resizing = 0;
  window.addEventListener("resize", () => {
    cancelAnimationFrame(resizing);
    resizing = requestAnimationFrame(renderSpread);
  });

  // --- live updates ----------------------------------------------------------

  const events = new EventSource("/events");
  events.addEventListener("open", () => {
    connected = true;
    load(); // after a reconnect the server may have built meanwhile
  });
  events.addEventListener("error", () => {
    connected = false;
    renderStatus();
  });
  events.addEventListener("building", () => {
    if (state) state.building = true;
    renderStatus();
  });
  events.addEventListener("built", load);
  // The print edition is written before the others: its pages show while they are still being built.
  events.addEventListener("shown", load);

  readPlace();
})();
