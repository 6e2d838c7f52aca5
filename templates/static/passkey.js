// The passkey forms' script (WebAuthn), loaded (deferred) by the pages
// that offer passkeys: the sign-in form, the account page, the
// second-factor step.
//
// A form with data-passkey ("register", "signin", "factor") and
// data-begin (a URL) is driven here: on submit, its fields are posted to
// data-begin (same origin), which answers {ceremony, options} with the
// options of navigator.credentials.create ("register") or .get; the
// browser's answer is put, as JSON with base64url fields, in the form's
// hidden field "credential" and the ceremony's token in "ceremony", and
// the form is submitted: its handler checks the answer and shows the next
// page. When the begin URL answers with an error, the form is submitted
// as it is and its handler explains. A cancelled or failed request shows
// a message (the script element's data- attributes, in the page's
// language) in the form's [data-passkey-error] element.
//
// On the sign-in page the passkey form (#passkey-signin) is hidden until
// the browser is known to have WebAuthn, and where the browser supports
// conditional mediation, passkeys are offered in the account field's
// autofill (autocomplete="username webauthn"): choosing one signs in the
// same way. Pressing the button first ends that pending request.
(function () {
  "use strict";
  var script = document.currentScript;

  function text(name) {
    return (script && script.getAttribute("data-" + name)) || "";
  }

  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64url(buf) {
    if (!buf) {
      return null;
    }
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (d) {
      var o = { type: d.type, id: fromB64url(d.id) };
      if (d.transports) {
        o.transports = d.transports;
      }
      return o;
    });
  }

  // publicKey turns the server's options (base64url strings) into what
  // navigator.credentials takes (buffers).
  function publicKey(options, create) {
    var pk = options.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    if (create) {
      pk.user.id = fromB64url(pk.user.id);
      pk.excludeCredentials = descriptors(pk.excludeCredentials);
    } else {
      pk.allowCredentials = descriptors(pk.allowCredentials);
    }
    return pk;
  }

  // answer is the credential as JSON, the fields the server reads.
  function answer(cred) {
    var r = cred.response;
    var out = {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      if (r.getTransports) {
        out.response.transports = r.getTransports();
      }
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      out.response.userHandle = toB64url(r.userHandle);
    }
    return JSON.stringify(out);
  }

  function begin(form) {
    var body = new URLSearchParams();
    var fields = form.querySelectorAll("input[name]");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      if (f.name !== "credential" && f.name !== "ceremony") {
        body.append(f.name, f.value);
      }
    }
    return fetch(form.getAttribute("data-begin"), {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      body: body
    }).then(function (resp) {
      return resp.json().catch(function () {
        return { error: "failed" };
      });
    });
  }

  function show(form, message) {
    var el = form.querySelector("[data-passkey-error]");
    if (!el) {
      return;
    }
    el.textContent = message;
    el.hidden = !message;
  }

  function submitWith(form, ceremony, credential) {
    form.elements.ceremony.value = ceremony || "";
    form.elements.credential.value = credential || "";
    form.setAttribute("data-passkey-done", "");
    form.submit();
  }

  // pending is the conditional (autofill) request of the sign-in page;
  // stopConditional, once the button is pressed, keeps one from starting.
  var pending = null;
  var stopConditional = false;

  function ceremony(form, conditional) {
    var create = form.getAttribute("data-passkey") === "register";
    return begin(form).then(function (begun) {
      if (begun.error || !begun.options) {
        if (!conditional) {
          submitWith(form, "", ""); // the handler explains
        }
        return null;
      }
      if (conditional && stopConditional) {
        return null;
      }
      var req = { publicKey: publicKey(begun.options, create) };
      if (conditional) {
        pending = new AbortController();
        req.mediation = "conditional";
        req.signal = pending.signal;
      }
      var call = create ? navigator.credentials.create(req) : navigator.credentials.get(req);
      return call.then(function (cred) {
        pending = null;
        submitWith(form, begun.ceremony, answer(cred));
        return cred;
      });
    });
  }

  function drive(form) {
    form.addEventListener("submit", function (e) {
      if (form.hasAttribute("data-passkey-done") || (e.submitter && e.submitter.name === "lang")) {
        return; // the answer is in, or the language switch posts the form
      }
      e.preventDefault();
      if (!window.PublicKeyCredential) {
        show(form, text("unsupported"));
        return;
      }
      if (form.hasAttribute("aria-busy")) {
        return;
      }
      form.setAttribute("aria-busy", "true");
      show(form, text("working"));
      stopConditional = true;
      if (pending) {
        pending.abort();
        pending = null;
      }
      conditionalDone.then(function () {
        return ceremony(form, false);
      }).then(function () {
        form.removeAttribute("aria-busy");
      }, function (err) {
        form.removeAttribute("aria-busy");
        show(form, err && (err.name === "NotAllowedError" || err.name === "AbortError") ? text("cancelled") : text("failed"));
      });
    });
  }

  var forms = document.querySelectorAll("form[data-passkey]");
  for (var i = 0; i < forms.length; i++) {
    drive(forms[i]);
  }

  var conditionalDone = Promise.resolve();
  var signin = document.getElementById("passkey-signin");
  var signinForm = document.getElementById("passkey-form");
  if (signin && signinForm && window.PublicKeyCredential) {
    signin.hidden = false;
    var autofill = document.querySelector('input[autocomplete~="webauthn"]');
    if (autofill && PublicKeyCredential.isConditionalMediationAvailable) {
      conditionalDone = PublicKeyCredential.isConditionalMediationAvailable().then(function (ok) {
        return ok ? ceremony(signinForm, true) : null;
      }).catch(function () {
        return null; // ended by the button, or refused: the button still works
      });
    }
  }
})();
