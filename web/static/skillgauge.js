// Progressive enhancement only: every page works without this file (no inline script, no
// network beyond this site, nothing the server does not also do for a plain form).
(function () {
  "use strict";

  // A countdown next to the time limit, announced at 5 minutes and 1 minute left.
  function countdown() {
    var time = document.querySelector("time[data-deadline]");
    if (!time) { return; }
    var deadline = Date.parse(time.getAttribute("data-deadline"));
    var out = document.querySelector(".timer .remaining");
    if (!out || isNaN(deadline)) { return; }
    var announced = {};
    function tick() {
      var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      var minutes = Math.floor(left / 60);
      var seconds = left % 60;
      out.textContent = " (" + minutes + ":" + (seconds < 10 ? "0" : "") + seconds + " left)";
      if ((left === 300 || left === 60) && !announced[left]) {
        announced[left] = true;
        out.setAttribute("aria-live", "assertive");
        setTimeout(function () { out.setAttribute("aria-live", "off"); }, 2000);
      }
      if (left === 0) { window.location.reload(); return; }
      setTimeout(tick, 1000);
    }
    tick();
  }

  // The answer form, submitted in the background: the same POST as without script, which
  // lands (after its redirect) on the feedback page; that page's feedback panel is shown
  // here, in the page's live region, so screen readers announce it, and focus moves to
  // the way on. Anything else (the next question in "end" mode, a practice second try,
  // the report) is simply followed; a refused answer shows the question with its error.
  //
  // After an answer the page shows one current state: the refusal of an earlier try, the
  // practice box of a second try and the progress before the answer are replaced by what
  // the feedback page says now. When the server cannot be reached the answer stays in the
  // form, the learner is told, and the same POST is tried again (a repeat is recognised by
  // the server, so nothing is stored twice).
  var RETRY_SECONDS = [3, 6, 12, 24, 30];

  function enhanceAnswerForm() {
    var form = document.querySelector("form.answer[data-enhance]");
    var live = document.getElementById("feedback-live");
    if (!form || !live || !window.fetch || !window.DOMParser || !window.FormData) { return; }
    var status = document.getElementById("answer-status");
    var busy = false;
    var failures = 0;
    var timer = null;
    var button = form.querySelector("button[type=submit]");

    function say(text) { if (status) { status.textContent = text; } }

    function idle() {
      busy = false;
      if (button) { button.disabled = false; button.removeAttribute("aria-busy"); }
    }

    function unreachable() {
      idle();
      var wait = RETRY_SECONDS[Math.min(failures, RETRY_SECONDS.length - 1)];
      failures += 1;
      say("We could not reach the server. Your answer is kept here; trying again in " +
        wait + " seconds (or press the button to try now).");
      clearTimeout(timer);
      timer = setTimeout(send, wait * 1000);
    }

    function send() {
      if (busy) { return; }
      clearTimeout(timer);
      busy = true;
      if (button) { button.disabled = true; button.setAttribute("aria-busy", "true"); }
      if (failures) { say("Trying again to send your answer…"); }
      var body = new URLSearchParams(new FormData(form));
      fetch(form.getAttribute("action"), {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Accept": "text/html" }
      }).then(function (response) {
        return response.text().then(function (text) { return { response: response, text: text }; });
      }).then(function (got) {
        var code = got.response.status;
        if (code === 502 || code === 503 || code === 504) { unreachable(); return; }
        failures = 0;
        var doc = new DOMParser().parseFromString(got.text, "text/html");
        var landed = new URL(got.response.url, window.location.href).pathname;
        var panel = doc.getElementById("feedback");
        if (got.response.ok && panel && /\/feedback\/\d+$/.test(landed)) {
          say("");
          showFeedback(form, live, panel, doc, got.response.url);
        } else if (got.response.ok) {
          window.location.assign(got.response.url);
        } else if (code === 422 && doc.querySelector("main form.answer")) {
          replaceMain(doc);
        } else {
          document.open();
          document.write(got.text);
          document.close();
        }
      }).catch(function () {
        unreachable();
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      send();
    });
    window.addEventListener("online", function () { if (failures && !busy) { send(); } });
  }

  function showFeedback(form, live, panel, doc, url) {
    var shown = document.importNode(panel, true);
    shown.removeAttribute("role");
    shown.removeAttribute("aria-live");
    // One current state: no refusal of an earlier try, no practice box, fresh progress.
    var error = document.getElementById("answer-error");
    if (error) { error.parentNode.removeChild(error); }
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
      el.removeAttribute("aria-invalid");
    });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-describedby]"), function (el) {
      var ids = el.getAttribute("aria-describedby").split(/\s+/).filter(function (id) {
        return id && id !== "answer-error";
      });
      el.setAttribute("aria-describedby", ids.join(" "));
    });
    var retry = document.getElementById("retry");
    if (retry) { retry.parentNode.removeChild(retry); }
    var progress = document.getElementById("progress");
    var fresh = doc.getElementById("progress");
    if (progress && fresh) { progress.replaceWith(document.importNode(fresh, true)); }
    Array.prototype.forEach.call(form.elements, function (el) { el.disabled = true; });
    var button = form.querySelector("button[type=submit]");
    if (button) { button.hidden = true; }
    live.appendChild(shown);
    if (doc.title) { document.title = doc.title; }
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, "", url);
    }
    var next = shown.querySelector("a.primary");
    shown.scrollIntoView({ block: "start" });
    if (next) { next.focus({ preventScroll: true }); }
  }

  function replaceMain(doc) {
    var fresh = doc.querySelector("main");
    var current = document.querySelector("main");
    if (!fresh || !current) { return; }
    current.replaceWith(document.importNode(fresh, true));
    init();
    var invalid = document.querySelector("[aria-invalid=true], #answer-error");
    if (invalid) {
      if (!invalid.hasAttribute("tabindex") && invalid.id === "answer-error") {
        invalid.setAttribute("tabindex", "-1");
      }
      invalid.focus();
    }
  }

  // Practice mode: after a wrong first try the page opens on the hint; focus it so it is
  // read first, and the second try is one Tab away.
  function focusRetry() {
    var retry = document.getElementById("retry");
    if (retry && !document.getElementById("answer-error")) { retry.focus(); }
  }

  // The report: a print button, and collapsed details opened for printing.
  function printing() {
    var holder = document.querySelector(".print-action");
    var button = document.querySelector("button[data-print]");
    if (holder && button) {
      holder.hidden = false;
      button.addEventListener("click", function () { window.print(); });
    }
    window.addEventListener("beforeprint", function () {
      Array.prototype.forEach.call(document.querySelectorAll("details:not([open])"), function (d) {
        d.setAttribute("open", "");
        d.setAttribute("data-print-opened", "");
      });
    });
    window.addEventListener("afterprint", function () {
      Array.prototype.forEach.call(document.querySelectorAll("details[data-print-opened]"), function (d) {
        d.removeAttribute("open");
        d.removeAttribute("data-print-opened");
      });
    });
  }

  // The report: a link to an answer ("seen in question 3") opens its collapsed explanation.
  function openTarget() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var target = id && document.getElementById(id);
    var details = target && (target.matches("details") ? target : target.querySelector("details"));
    if (details && !details.open) { details.open = true; }
  }

  function init() {
    enhanceAnswerForm();
    focusRetry();
  }

  countdown();
  init();
  printing();
  openTarget();
  window.addEventListener("hashchange", openTarget);
})();
// "Copy link" buttons: copy the named input's value and say so.
(function () {
  "use strict";
  var buttons = document.querySelectorAll("button[data-copy]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy"));
      var note = button.parentNode.querySelector(".copied");
      if (!input) { return; }
      input.select();
      var done = function () { if (note) { note.textContent = "Copied."; } };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(input.value).then(done, done);
      } else {
        try { document.execCommand("copy"); } catch (e) { /* the link stays selected */ }
        done();
      }
    });
  });
})();
