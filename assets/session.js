/* When the session has ended (signed out here or elsewhere, password changed or reset, account disabled or its
 * role changed, or idle too long), every Dash request gets 401. Without this the panels would silently stop
 * updating; instead the page says so over the figures and offers sign-in, coming back to this same view.
 * A later request that succeeds (signed in again in another tab) takes the notice away.
 * Only reads response statuses; builds the notice with textContent (nothing is parsed as HTML).
 */
(function () {
  "use strict";

  var NOTICE_ID = "session-ended";
  var realFetch = window.fetch.bind(window);

  function isDash(input) {
    var url = typeof input === "string" ? input : (input && input.url) || "";
    return url.indexOf("/_dash-") !== -1;
  }

  function stamp() {
    var now = new Date();
    return ("0" + now.getHours()).slice(-2) + ":" + ("0" + now.getMinutes()).slice(-2);
  }

  function showNotice(title, linkText, href, detail) {
    if (document.getElementById(NOTICE_ID)) { return; }
    var box = document.createElement("div");
    box.id = NOTICE_ID;
    box.className = "session-ended";
    box.setAttribute("role", "alert");
    var heading = document.createElement("strong");
    heading.textContent = title + " — ";
    var link = document.createElement("a");
    link.href = href;
    link.textContent = linkText;
    var more = document.createElement("p");
    more.textContent = detail + " The figures below stopped updating at " + stamp() + ".";
    var line = document.createElement("p");
    line.appendChild(heading);
    line.appendChild(link);
    box.appendChild(line);
    box.appendChild(more);
    document.body.insertBefore(box, document.body.firstChild);
    document.body.classList.add("session-over");
  }

  function clearNotice() {
    var box = document.getElementById(NOTICE_ID);
    if (box) { box.remove(); }
    document.body.classList.remove("session-over");
  }

  function here() {
    return window.location.pathname + window.location.search;
  }

  window.fetch = function (input, init) {
    var promise = realFetch(input, init);
    if (!isDash(input)) { return promise; }
    return promise.then(function (response) {
      if (response.status === 401) {
        showNotice("Signed out", "sign in again", "/login?next=" + encodeURIComponent(here()),
                   "Your session has ended: you signed out here or elsewhere, your account was changed, " +
                   "or it was left unused too long.");
      } else if (response.status === 400) {
        response.clone().text().then(function (body) {
          if (body.indexOf("CSRF") !== -1) {
            showNotice("This page has expired", "reload it", here(),
                       "The page's security token is no longer valid.");
          }
        });
      } else if (response.status === 503) {
        // The database is restarting or unreachable (issue 12): say so instead of leaving figures frozen.
        showNotice("Database unavailable", "try again", here(),
                   "The server cannot reach its database just now; nothing half-done was kept. A return you " +
                   "were committing may not have been saved: press Commit again when this notice has gone " +
                   "(the same file is never recorded twice).");
      } else if (response.ok) {
        clearNotice();
      }
      return response;
    });
  };
})();
