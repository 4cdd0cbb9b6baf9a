// The chat page: renders the conversation, sends what is typed, tapped or uploaded, and polls for
// what arrives later (a reminder, a note from the office). Text is always set as text, never HTML.
(function () {
  "use strict";
  var log = document.getElementById("log");
  var box = document.getElementById("answer");
  var form = document.getElementById("composer");
  var fileInput = document.getElementById("file");
  var count = document.getElementById("count");
  var progress = document.getElementById("progress");
  var notice = document.getElementById("notice");
  var words = JSON.parse(document.getElementById("words").textContent);
  var csrf = log.getAttribute("data-csrf");
  var last = 0;
  var busy = false;
  var stopped = false;
  var draftKey = "award-draft";

  function saveDraft(text) {
    // A half-written answer survives a reload (WeChat reloads pages left in the background).
    try { if (text) { localStorage.setItem(draftKey, text); } else { localStorage.removeItem(draftKey); } }
    catch (error) { /* private mode: nothing to keep it in */ }
  }
  var wechat = /MicroMessenger/i.test(navigator.userAgent);

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function render(message) {
    if (message.id <= last) { return null; }
    last = message.id;
    var item = el("div", "msg " + message.role);
    item.setAttribute("data-id", String(message.id));
    if (message.text) { item.appendChild(el("div", "text", message.text)); }
    if (message.document) {
      var doc = el("div", "doc");
      var link = el("a", "download", message.document.name);
      link.href = message.document.url;
      link.setAttribute("download", message.document.name);
      doc.appendChild(link);
      if (message.document.view) {
        var view = el("a", "view", words.view_pdf);
        view.href = message.document.view;
        view.target = "_blank";
        view.rel = "noopener";
        doc.appendChild(view);
      }
      if (wechat) { doc.appendChild(el("p", "hint", message.document.view ? words.wechat : words.wechat_docx)); }
      item.appendChild(doc);
    }
    (message.buttons || []).forEach(function (row) {
      var line = el("div", "buttons");
      row.forEach(function (pair) {
        var button = el("button", "choice", pair[0]);
        button.type = "button";
        button.addEventListener("click", function () { post("/api/press", {data: pair[1], label: pair[0]}); });
        line.appendChild(button);
      });
      item.appendChild(line);
    });
    log.appendChild(item);
    return item;
  }

  function show(data) {
    var first = null;
    (data.messages || []).forEach(function (message) {
      var item = render(message);
      // The start of the first new reply in sight (its question id and wording), as a chat app does.
      if (item && !first && message.role === "bot") { first = item; }
    });
    if (data.progress) { progress.textContent = data.progress; }
    if (data.erased) { erased(data.erased); return; }
    if (first) { first.scrollIntoView({block: "start"}); }
  }

  function erased(text) {
    // Everything of theirs is gone: so is what the page showed, and nothing more can be sent.
    while (log.firstChild) { log.removeChild(log.firstChild); }
    log.appendChild(el("div", "msg bot")).appendChild(el("div", "text", text));
    var home = el("a", "button primary", words.restart);
    home.href = "/";
    log.appendChild(home);
    form.hidden = true;
    progress.textContent = "";
    stopped = true;
    saveDraft("");
  }

  function say(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  function handle(response) {
    if (response.status === 401) { say(words.signed_out); return null; }
    if (response.status === 429) { say(words.too_fast); return null; }
    if (!response.ok) { say(words.failed); return null; }
    say("");
    return response.json();
  }

  var sendButton = document.getElementById("send");

  function working(on) {
    busy = on;
    sendButton.disabled = on;
    if (on) { say(words.sending); }
  }

  function post(url, body) {
    if (busy) { return Promise.resolve(); }
    working(true);
    body.after = last;
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
      body: JSON.stringify(body)
    }).then(handle).then(function (data) { if (data) { show(data); } })
      .catch(function () { say(words.failed); })
      .then(function () { busy = false; sendButton.disabled = false; });
  }

  function upload(file) {
    var data = new FormData();
    data.append("file", file);
    data.append("after", String(last));
    working(true);
    say(words.uploading);
    return fetch("/api/upload?after=" + last, {
      method: "POST", credentials: "same-origin", headers: {"X-CSRF-Token": csrf}, body: data
    }).then(handle).then(function (result) { if (result) { show(result); } })
      .catch(function () { say(words.failed); })
      .then(function () { busy = false; sendButton.disabled = false; fileInput.value = ""; });
  }

  function grow() {
    box.style.height = "auto";
    box.style.height = Math.min(box.scrollHeight, window.innerHeight * 0.5) + "px";
    var chars = box.value.replace(/\s/g, "").length;
    count.textContent = chars ? words.chars.replace("{chars}", String(chars)) : "";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = box.value;
    if (!text.trim() || busy) { return; }
    post("/api/send", {text: text}).then(function () {
      if (notice.hidden) { box.value = ""; grow(); saveDraft(""); }
    });
  });
  box.addEventListener("input", function () { grow(); saveDraft(box.value); });
  fileInput.addEventListener("change", function () {
    if (fileInput.files && fileInput.files[0]) { upload(fileInput.files[0]); }
  });

  function poll() {
    if (busy || stopped || document.hidden) { return; }
    fetch("/api/messages?after=" + last, {credentials: "same-origin"})
      .then(handle).then(function (data) { if (data && data.messages.length) { show(data); } })
      .catch(function () {});
  }

  var initial = JSON.parse(document.getElementById("initial").textContent);
  initial.forEach(render);
  window.scrollTo(0, document.body.scrollHeight);
  try { box.value = localStorage.getItem(draftKey) || ""; } catch (error) { box.value = ""; }
  grow();
  window.setInterval(poll, 3000);
}());
