// Enhancements only: every page works without this script.
"use strict";
(function () {
  // Copy buttons: shown only when the clipboard is available; the command stays selectable text either way.
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    if (!navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      var status = button.parentElement.querySelector(".copied");
      navigator.clipboard.writeText(source.textContent).then(function () {
        if (status) status.textContent = "Copied";
      }, function () {
        if (status) status.textContent = "Copy failed: select the command and copy it";
      });
    });
  });

  // Star toggle without leaving the page: post the same form, then take the star bar of the page the server answers
  // with (it redirects to the repository page), so the count and the button come from one renderer. Any failure falls
  // back to the plain form post, which shows the server's own message.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.matches(".hub form") || !window.fetch || !window.DOMParser) return;
    event.preventDefault();
    var bar = form.closest(".hub");
    fetch(form.action, {
      method: "POST", credentials: "same-origin", headers: { Accept: "text/html" },
      body: new URLSearchParams(new FormData(form))
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.text();
    }).then(function (text) {
      var fresh = new DOMParser().parseFromString(text, "text/html").querySelector(".hub");
      if (!fresh) throw new Error("no star bar");
      bar.replaceWith(fresh);
      var button = fresh.querySelector("button");
      if (button) button.focus();
    }).catch(function () { form.submit(); });
  });

  // Search as you type: fetch the same server-rendered results page and swap its main content in, so the results
  // (private ones included for a logged-in user) come from one renderer; the address stays shareable.
  var input = document.getElementById("q");
  var main = document.getElementById("main");
  if (!input || !main || !window.fetch || !window.DOMParser) return;
  var timer = 0, latest = 0;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      var query = input.value;
      var url = "/ui/search?q=" + encodeURIComponent(query);
      var ticket = ++latest;
      fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } }).then(function (response) {
        return response.text();
      }).then(function (text) {
        if (ticket !== latest) return;
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("main");
        if (!fresh) return;
        main.replaceChildren.apply(main, Array.prototype.slice.call(fresh.childNodes));
        history.replaceState(null, "", url);
      }).catch(function () { /* keep the current results; submitting the form still works */ });
    }, 200);
  });
})();
