/* The book's own script for every reader (issue 11): accessible names for the theme's controls,
   formulas kept with their punctuation, legible figures on a phone, focusable scroll boxes.
   Jupyter Book adds every .js file in book/_static to each page. */
(function () {
  "use strict";

  /* The smallest fraction of its pixel width at which a figure is shown. It comes from the plot
     style (lossutils.plotting.MIN_DISPLAY_SCALE) through book/_ext/publishing.py. */
  function minScale() {
    var book = window.LOSSBOOK || {};
    return book.figureMinScale || 0.5;
  }

  function normalise(text) {
    return (text || "").replace(/\s+/g, " ").trim();
  }

  /* Search buttons show "Search Ctrl+K" while the theme names them "Search": a speech-input user
     who says what they see would not reach them (WCAG 2.5.3). Their name becomes their text. */
  function nameSearchButtons() {
    document.querySelectorAll(".search-button-field").forEach(function (button) {
      var text = normalise(button.textContent);
      if (text) button.setAttribute("aria-label", text);
    });
  }

  /* The colour-mode button shows one icon, titled Light, Dark or System Settings after the mode;
     its name says the same: "Color mode: Dark". */
  function nameModeButtons() {
    var mode = document.documentElement.dataset.mode || "auto";
    document.querySelectorAll(".theme-switch-button").forEach(function (button) {
      var icon = button.querySelector('.theme-switch[data-mode="' + mode + '"]');
      var title = icon ? icon.getAttribute("title") : mode;
      button.setAttribute("aria-label", "Color mode: " + title);
      button.querySelectorAll(".theme-switch").forEach(function (i) {
        i.setAttribute("aria-hidden", "true");
      });
    });
  }

  /* The bibliography is a list (role="list") of entries marked doc-biblioentry, a role ARIA 1.3
     retired; axe and screen readers then miss its items. Each entry becomes a list item. */
  function nameBibliography() {
    document.querySelectorAll('.citation-list[role="list"] > .citation').forEach(function (entry) {
      entry.setAttribute("role", "listitem");
    });
  }

  /* Punctuation right after an inline formula could wrap onto a line of its own. */
  function keepPunctuation() {
    document.querySelectorAll(".bd-article span.math").forEach(function (math) {
      var next = math.nextSibling;
      if (!next || next.nodeType !== Node.TEXT_NODE) return;
      var match = /^[.,;:!?)\]]+/.exec(next.nodeValue);
      if (!match || math.parentElement.classList.contains("math-nowrap")) return;
      var wrap = document.createElement("span");
      wrap.className = "math-nowrap";
      math.parentNode.insertBefore(wrap, math);
      wrap.appendChild(math);
      next.nodeValue = next.nodeValue.slice(match[0].length);
      wrap.appendChild(document.createTextNode(match[0]));
    });
  }

  function contentImages() {
    return document.querySelectorAll(
      ".bd-article .cell_output img, .bd-article figure img, .bd-article .figure img");
  }

  function wrapFigures() {
    contentImages().forEach(function (img) {
      if (img.parentElement.classList.contains("figure-scroll")) return;
      var box = document.createElement("div");
      box.className = "figure-scroll";
      img.parentNode.insertBefore(box, img);
      box.appendChild(img);
      var hint = document.createElement("p");
      hint.className = "scroll-hint";
      hint.setAttribute("aria-hidden", "true");
      hint.textContent = "The figure is wider than the screen: scroll it sideways.";
      box.parentNode.insertBefore(hint, box.nextSibling);
    });
  }

  /* Show each figure at no less than minScale() of its pixel width; wider than the column, it
     scrolls in its box (focusable, with a hint) instead of shrinking until its text is unreadable. */
  function fitFigures() {
    var scale = minScale();
    contentImages().forEach(function (img) {
      var box = img.parentElement;
      if (!box.classList.contains("figure-scroll") || !img.naturalWidth) return;
      var least = Math.ceil(img.naturalWidth * scale);
      var style = getComputedStyle(box);  // the room inside the scroll box itself
      var room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      var wide = least > room;
      img.style.width = wide ? least + "px" : "";
      box.classList.toggle("is-scrollable", wide);
      var hint = box.nextElementSibling;
      if (hint && hint.classList.contains("scroll-hint")) hint.classList.toggle("is-shown", wide);
    });
  }

  /* The closest block-level ancestor: the width a formula has for itself. */
  function column(el) {
    for (var a = el.parentElement; a; a = a.parentElement) {
      var display = getComputedStyle(a).display;
      if (display !== "inline" && display !== "inline-flex" && display !== "inline-block") return a;
    }
    return document.body;
  }

  /* An inline formula wider than its column scrolls in its own box (.is-wide). */
  function fitInlineMath() {
    document.querySelectorAll(".bd-article span.math").forEach(function (math) {
      var shown = math.querySelector("mjx-math");
      if (!shown) return;
      var block = column(math);
      var room = block.clientWidth - parseFloat(getComputedStyle(block).paddingLeft) -
        parseFloat(getComputedStyle(block).paddingRight);
      math.classList.toggle("is-wide", shown.getBoundingClientRect().width > room + 0.5);
    });
  }

  /* A box that scrolls must be reachable by keyboard (WCAG 2.1.1) and say what it holds. */
  function markScrollBoxes() {
    var boxes = document.querySelectorAll(
      ".bd-article span.math, .bd-article div.math mjx-container, .bd-article .figure-scroll");
    boxes.forEach(function (box) {
      var shown = box.querySelector("mjx-math") || box.querySelector("img");
      var width = shown ? shown.getBoundingClientRect().width : box.scrollWidth;
      var scrolls = getComputedStyle(box).overflowX !== "visible" && width > box.clientWidth + 1;
      if (box.tagName !== "SPAN") box.classList.toggle("is-scrollable", scrolls);
      if (scrolls) {
        box.setAttribute("tabindex", "0");
        if (!box.hasAttribute("role")) box.setAttribute("role", "group");
        if (!box.hasAttribute("aria-label")) {
          box.setAttribute("aria-label", box.classList.contains("figure-scroll")
            ? "Figure, scrolls sideways" : "Formula, scrolls sideways");
        }
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
        if (box.getAttribute("role") === "group") box.removeAttribute("role");
        if (/scrolls sideways$/.test(box.getAttribute("aria-label") || "")) {
          box.removeAttribute("aria-label");
        }
      }
    });
  }

  function layout() {
    fitFigures();
    fitInlineMath();
    markScrollBoxes();
  }

  var pending = null;
  function layoutSoon() {
    if (pending) cancelAnimationFrame(pending);
    pending = requestAnimationFrame(function () {
      pending = null;
      layout();
    });
  }

  function start() {
    nameSearchButtons();
    nameModeButtons();
    nameBibliography();
    new MutationObserver(nameModeButtons).observe(document.documentElement,
      { attributes: true, attributeFilter: ["data-mode"] });
    wrapFigures();
    contentImages().forEach(function (img) {
      if (!img.complete) img.addEventListener("load", layoutSoon);
    });
    keepPunctuation();
    layout();
    window.addEventListener("resize", layoutSoon);
    window.addEventListener("load", layoutSoon);
    /* MathJax typesets after the page has loaded; the formulas' widths are known only then, and
       typesetting changes the article's size. */
    var article = document.querySelector(".bd-article");
    if (article && window.ResizeObserver) new ResizeObserver(layoutSoon).observe(article);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
