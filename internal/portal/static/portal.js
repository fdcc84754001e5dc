// edgevault portal: the little script the pages need. Everything works
// without it (forms post, progress pages refresh themselves); it adds
// live progress and copy buttons.
"use strict";

// Copy buttons: data-copy names the element whose value is copied.
document.addEventListener("click", function (ev) {
  var b = ev.target.closest("button[data-copy]");
  if (!b) return;
  var el = document.getElementById(b.getAttribute("data-copy"));
  if (!el) return;
  var done = function () { b.textContent = "Copied"; };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(el.value).then(done, function () { el.select(); });
  } else {
    el.select();
  }
});

// Progress: poll the operation's status and list each completed step;
// reload the page when the operation has ended, to show its outcome.
(function () {
  var box = document.getElementById("progress");
  if (!box || box.getAttribute("data-done") === "true") return;
  var url = box.getAttribute("data-status-url");
  var list = document.getElementById("steps");
  var status = document.getElementById("op-status");
  function render(p) {
    status.textContent = p.status;
    while (list.firstChild) list.removeChild(list.firstChild);
    (p.steps || []).forEach(function (s) {
      var li = document.createElement("li");
      li.className = "done";
      var n = document.createElement("strong");
      n.textContent = s.name;
      li.appendChild(n);
      li.appendChild(document.createTextNode(" " + s.text));
      list.appendChild(li);
    });
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("status " + r.status); return r.json(); })
      .then(function (p) {
        render(p);
        if (p.done) { window.location.reload(); return; }
        setTimeout(poll, 700);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  setTimeout(poll, 300);
})();

// Key vault name: checked as you type, by the name rule and then by the
// API's checkNameAvailability (through the portal, as the user).
(function () {
  var input = document.querySelector("input[data-check]");
  var out = document.getElementById("kvcheck");
  if (!input || !out) return;
  var timer = null, seq = 0;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var name = input.value;
    if (name === "") { out.textContent = ""; out.className = "muted"; return; }
    timer = setTimeout(function () {
      var mine = ++seq;
      fetch(input.getAttribute("data-check") + "?name=" + encodeURIComponent(name), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (a) {
          if (mine !== seq) return;
          if (!a.checked) {
            out.textContent = "The name could not be checked now; it is checked when the key is generated.";
            out.className = "muted";
            return;
          }
          out.textContent = a.message || "";
          out.className = a.available ? "ok" : "error";
        })
        .catch(function () {});
    }, 300);
  });
})();
