// The Telegram Mini App's door: Telegram puts the signed initData in the address's fragment
// (#tgWebAppData=…); the server checks its signature and signs the page in as that chat's user.
// Nothing is loaded from telegram.org: the page works where only this server is reachable.
(function () {
  "use strict";
  var fragment = new URLSearchParams(window.location.hash.slice(1));
  var initData = fragment.get("tgWebAppData") || "";
  function failed() {
    document.getElementById("status").hidden = true;
    document.getElementById("failed").hidden = false;
  }
  if (!initData) { failed(); return; }
  fetch("/miniapp/signin", {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({initData: initData})
  }).then(function (response) {
    if (!response.ok) { failed(); return null; }
    return response.json();
  }).then(function (data) {
    if (data && data.next) { window.location.replace(data.next); }
  }).catch(failed);
}());
