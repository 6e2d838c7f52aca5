// The pages' one script, loaded (deferred) by the pages with password
// fields or a resend countdown; the pages work without it.
//
// Show-password buttons: after every password field it adds a button
// (type="button", so it never submits) that switches the field between
// type="password" and type="text". The button says 表示/非表示 (Show/Hide),
// its accessible name says what it does, and aria-pressed tells whether
// the password is shown. The field's autocomplete attribute is left
// alone. The texts come from the script element's data- attributes, in
// the page's language.
//
// Resend countdown: a button with data-resend-in="N" (seconds left of the
// cooldown, rendered with aria-disabled="true" and the sentence of
// #resend-wait) stays unusable while the sentence counts down, and is
// enabled at zero. Until then its form is not submitted. Without the
// script the button can be pressed, and the server answers a press that
// comes too early with the cooldown message.
(function () {
  "use strict";
  var script = document.currentScript;

  function text(name) {
    return (script && script.getAttribute("data-" + name)) || "";
  }

  function addReveal(input) {
    var field = input.parentNode;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button reveal";
    if (input.id) {
      button.id = input.id + "-reveal";
      button.setAttribute("aria-controls", input.id);
    }
    function show(shown) {
      input.type = shown ? "text" : "password";
      button.textContent = text(shown ? "hide" : "show");
      button.setAttribute("aria-label", text(shown ? "hide-label" : "show-label"));
      button.setAttribute("aria-pressed", shown ? "true" : "false");
    }
    button.addEventListener("click", function () {
      show(input.type === "password");
    });
    show(false);
    input.insertAdjacentElement("afterend", button);
    if (field && field.classList) {
      field.classList.add("revealable");
    }
  }

  function countDown(button) {
    var left = parseInt(button.getAttribute("data-resend-in"), 10);
    var wait = document.getElementById("resend-wait");
    var format = text("resend-wait");
    var form = button.form;
    if (!(left > 0)) {
      return;
    }
    var until = Date.now() + left * 1000;
    function blocked(e) {
      if (button.getAttribute("aria-disabled") === "true") {
        e.preventDefault();
      }
    }
    if (form) {
      form.addEventListener("submit", blocked);
    }
    button.addEventListener("click", blocked);
    button.setAttribute("aria-disabled", "true");
    function tick() {
      left = Math.ceil((until - Date.now()) / 1000);
      if (left > 0) {
        if (wait && format) {
          wait.textContent = format.replace("%d", String(left));
        }
        window.setTimeout(tick, 250);
        return;
      }
      button.removeAttribute("aria-disabled");
      button.removeAttribute("aria-describedby");
      button.removeAttribute("data-resend-in");
      if (wait) {
        wait.hidden = true;
      }
    }
    tick();
  }

  var inputs = document.querySelectorAll('input[type="password"]');
  for (var i = 0; i < inputs.length; i++) {
    addReveal(inputs[i]);
  }
  var resend = document.querySelectorAll("button[data-resend-in]");
  for (var j = 0; j < resend.length; j++) {
    countDown(resend[j]);
  }
})();
