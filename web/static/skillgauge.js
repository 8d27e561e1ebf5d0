// Progressive enhancement only: every page works without this file.
// A countdown next to the time limit, announced at 5 minutes and 1 minute left.
(function () {
  "use strict";
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
