// The address shown is the personal link itself: without "?new=1" a bookmark or a WeChat share
// of this page opens the application directly, not this page again.
(function () {
  "use strict";
  if (window.location.search) { window.history.replaceState(null, "", window.location.pathname); }
}());
