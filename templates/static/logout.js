// The sign-out page: once every front-channel logout iframe has loaded
// (or after 4 s), go on to the application. Load events do not bubble, so
// they are caught in the capture phase, registered before the iframes
// exist.
(function () {
  "use strict";
  var loaded = 0, total = -1, done = false;
  function go() {
    var next = document.getElementById("continue");
    if (done || !next) {
      return;
    }
    done = true;
    window.location.replace(next.href);
  }
  function check() {
    if (total >= 0 && loaded >= total) {
      go();
    }
  }
  document.addEventListener("load", function (e) {
    if (e.target && e.target.tagName === "IFRAME") {
      loaded++;
      check();
    }
  }, true);
  document.addEventListener("DOMContentLoaded", function () {
    total = document.querySelectorAll("iframe.frontchannel").length;
    check();
    window.setTimeout(go, 4000);
  });
})();
