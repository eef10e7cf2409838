/* Chat emulator: renders Kakao SkillResponse v2.0 components and sends what the person does
   to /emulator/api/send. Vanilla JS, no build step. Bot content is inserted as text only. */
(function () {
  "use strict";
  var CFG = window.EMULATOR || {};
  var FOLD = 500;               // simpleText is folded behind "전체 보기" after 500 characters
  var chat = document.getElementById("chat");
  var quick = document.getElementById("quick-replies");
  var form = document.getElementById("composer");
  var input = document.getElementById("message");
  var sendBtn = document.getElementById("send");
  var state = { user: null, busy: false, lastPush: {}, pollTimer: null };

  // ---- small helpers ---------------------------------------------------------------------
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function safeUrl(url) {
    if (typeof url !== "string" || !url) return null;
    var base = (CFG.publicBaseUrl || "").replace(/\/$/, "");
    // Images this server made are linked with PUBLIC_BASE_URL; show them from wherever the page is.
    if (base && url.indexOf(base + "/") === 0) url = url.slice(base.length);
    try {
      var u = new URL(url, window.location.href);
      if (u.protocol === "http:" || u.protocol === "https:") return u.href;
    } catch (e) { /* fall through */ }
    return null;
  }
  function img(url, cls, alt) {
    var i = el("img", cls);
    var safe = safeUrl(url);
    if (safe) i.src = safe;
    i.alt = alt || "";
    i.loading = "eager";
    return i;
  }
  function toast(text) {
    var t = document.getElementById("toast");
    t.textContent = text; t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.hidden = true; }, 2500);
  }
  function timeNow() {
    var d = new Date();
    var h = d.getHours(), m = d.getMinutes();
    return (h < 12 ? "오전 " : "오후 ") + ((h % 12) || 12) + ":" + (m < 10 ? "0" : "") + m;
  }
  function won(n) { return Number(n || 0).toLocaleString("ko-KR") + "원"; }
  function scrollDown() { chat.scrollTop = chat.scrollHeight; }
  function storageKey(user) { return "cpoint-emulator:" + user; }

  // ---- history (per user, in sessionStorage) ----------------------------------------------
  function history(user) {
    try { return JSON.parse(sessionStorage.getItem(storageKey(user)) || "[]"); } catch (e) { return []; }
  }
  function remember(entry) {
    var h = history(state.user); h.push(entry);
    try { sessionStorage.setItem(storageKey(state.user), JSON.stringify(h.slice(-200))); } catch (e) { /* full */ }
  }

  // ---- actions ---------------------------------------------------------------------------
  function act(source, action) {
    var kind = action && action.action;
    if (state.preview && kind !== "webLink") { toast("미리보기예요: 누르면 " + (action.label || "") + " 동작이 실행돼요."); return; }
    if (kind === "webLink") {
      var url = safeUrl(action.webLinkUrl);
      if (url) window.open(url, "_blank", "noopener");
      return;
    }
    if (kind === "phone") { toast("전화 걸기: " + (action.phoneNumber || "")); return; }
    if (kind === "share") { toast("공유하기: 에뮬레이터에서는 공유 화면을 띄우지 않아요."); return; }
    if (kind === "operator") { toast("상담원 연결: 실제 채널에서는 상담원에게 연결돼요."); return; }
    if (kind === "message" || kind === "block") {
      send({ source: source, action: action }, action.messageText || action.label || action.title);
      return;
    }
    toast("알 수 없는 동작: " + kind);
  }

  function buttonEl(b) {
    var btn;
    if (b.action === "webLink" && safeUrl(b.webLinkUrl)) {
      btn = el("a", null, b.label); btn.href = safeUrl(b.webLinkUrl); btn.target = "_blank"; btn.rel = "noopener";
    } else {
      btn = el("button", null, b.label); btn.type = "button";
      btn.addEventListener("click", function () { act("button", b); });
    }
    btn.dataset.action = b.action || "";
    return btn;
  }
  function buttons(card, isCarousel) {
    var list = card.buttons || [];
    if (!list.length) return null;
    var layout = card.buttonLayout || ((card.thumbnail && card.thumbnail.fixedRatio) ? "horizontal" : "vertical");
    var box = el("div", "buttons " + layout);
    list.forEach(function (b) { box.appendChild(buttonEl(b)); });
    return box;
  }
  function profile(p) {
    if (!p) return null;
    var box = el("div", "profile");
    if (p.imageUrl) box.appendChild(img(p.imageUrl, null, ""));
    box.appendChild(el("span", null, p.nickname || p.title || ""));
    return box;
  }
  function thumbnail(t) {
    if (!t) return null;
    var i = img(t.imageUrl, "thumb" + (t.fixedRatio ? " square" : ""), t.altText || "");
    var link = t.link && safeUrl(t.link.web || t.link.mobile || t.link.pc);
    if (link) { var a = el("a"); a.href = link; a.target = "_blank"; a.rel = "noopener"; a.appendChild(i); return a; }
    return i;
  }
  function textBlock(title, desc) {
    var c = el("div", "content");
    if (title) c.appendChild(el("div", "title", title));
    if (desc) c.appendChild(el("div", "desc", desc));
    return c;
  }

  // ---- components ------------------------------------------------------------------------
  function simpleText(c) {
    var text = c.text || "";
    var b = el("div", "bubble");
    var chars = Array.from(text);
    if (chars.length > FOLD) {
      var shown = el("span", null, chars.slice(0, FOLD).join("") + "…");
      var more = el("button", "more", "전체 보기"); more.type = "button";
      more.addEventListener("click", function () { shown.textContent = text; more.remove(); });
      b.appendChild(shown); b.appendChild(more);
    } else {
      b.textContent = text;
    }
    b.dataset.kind = "simpleText";
    return b;
  }
  function simpleImage(c) {
    var i = img(c.imageUrl, "simple-image", c.altText || "");
    i.dataset.kind = "simpleImage";
    return i;
  }
  function textCard(c) {
    var card = el("div", "card text-card");
    card.appendChild(textBlock(c.title, c.description));
    var b = buttons(c); if (b) card.appendChild(b);
    return card;
  }
  function basicCard(c) {
    var card = el("div", "card basic-card");
    var p = profile(c.profile); if (p) card.appendChild(p);
    var t = thumbnail(c.thumbnail); if (t) card.appendChild(t);
    if (c.title || c.description) card.appendChild(textBlock(c.title, c.description));
    var b = buttons(c); if (b) card.appendChild(b);
    return card;
  }
  function commerceCard(c) {
    var card = el("div", "card commerce-card");
    var p = profile(c.profile); if (p) card.appendChild(p);
    var thumbs = c.thumbnails || [];
    if (thumbs.length) card.appendChild(thumbnail(thumbs[0]));
    var content = textBlock(c.title, c.description);
    var price = el("div", "price");
    var final = c.price;
    if (c.discountedPrice) final = c.discountedPrice;
    else if (c.discount) final = c.price - c.discount;
    else if (c.discountRate) final = Math.round(c.price * (100 - c.discountRate) / 100);
    if (c.discountRate && c.discountedPrice) price.appendChild(el("span", "rate", c.discountRate + "%"));
    price.appendChild(el("span", null, won(final)));
    if (final !== c.price) price.appendChild(el("span", "original", won(c.price)));
    content.appendChild(price);
    card.appendChild(content);
    var b = buttons(c); if (b) card.appendChild(b);
    return card;
  }
  function listCard(c) {
    var card = el("div", "card list-card");
    if (c.header) card.appendChild(el("div", "header", c.header.title));
    (c.items || []).forEach(function (it) {
      var clickable = it.action === "message" || it.action === "block" || (it.link && (it.link.web || it.link.mobile || it.link.pc));
      var row = el(clickable ? "button" : "div", "list-item" + (clickable ? " clickable" : ""));
      if (clickable) {
        row.type = "button";
        row.addEventListener("click", function () {
          if (it.action === "message" || it.action === "block") {
            act("listItem", { action: it.action, blockId: it.blockId, messageText: it.messageText || it.title, extra: it.extra, label: it.title });
          } else {
            var u = safeUrl(it.link.web || it.link.mobile || it.link.pc); if (u) window.open(u, "_blank", "noopener");
          }
        });
      }
      var text = el("div", "text");
      text.appendChild(el("div", "t", it.title));
      if (it.description) text.appendChild(el("div", "d", it.description));
      row.appendChild(text);
      if (it.imageUrl) row.appendChild(img(it.imageUrl, null, ""));
      card.appendChild(row);
    });
    var b = buttons(c); if (b) card.appendChild(b);
    return card;
  }
  function itemCard(c) {
    var card = el("div", "card item-card " + (c.itemListAlignment === "left" ? "left" : "right"));
    var t = thumbnail(c.thumbnail); if (t) card.appendChild(t);
    if (c.head) card.appendChild(el("div", "head", c.head.title));
    var p = profile(c.profile); if (p) card.appendChild(p);
    if (c.imageTitle) {
      var it = el("div", "image-title");
      var txt = el("div");
      txt.appendChild(el("div", "t", c.imageTitle.title));
      if (c.imageTitle.description) txt.appendChild(el("div", "d", c.imageTitle.description));
      it.appendChild(txt);
      if (c.imageTitle.imageUrl) it.appendChild(img(c.imageTitle.imageUrl, null, ""));
      card.appendChild(it);
    }
    var list = el("div", "item-list");
    (c.itemList || []).forEach(function (i) {
      var row = el("div", "item-row");
      row.appendChild(el("span", "k", i.title));
      row.appendChild(el("span", "v", i.description));
      list.appendChild(row);
    });
    card.appendChild(list);
    if (c.itemListSummary) {
      var s = el("div", "item-summary");
      s.appendChild(el("span", null, c.itemListSummary.title));
      s.appendChild(el("span", null, c.itemListSummary.description));
      card.appendChild(s);
    }
    if (c.title || c.description) card.appendChild(textBlock(c.title, c.description));
    var b = buttons(c); if (b) card.appendChild(b);
    return card;
  }
  var CARDS = { simpleText: simpleText, simpleImage: simpleImage, textCard: textCard, basicCard: basicCard,
                commerceCard: commerceCard, listCard: listCard, itemCard: itemCard };
  function carousel(c) {
    var box = el("div", "carousel");
    box.dataset.kind = "carousel";
    if (c.header) {
      var h = el("div", "carousel-header card");
      if (c.header.thumbnail) h.appendChild(thumbnail(c.header.thumbnail));
      h.appendChild(textBlock(c.header.title, c.header.description));
      box.appendChild(h);
    }
    var render = CARDS[c.type];
    (c.items || []).forEach(function (item) {
      var node = render ? render(item) : el("div", "bubble", "[" + c.type + "]");
      box.appendChild(node);
    });
    return box;
  }
  function component(output) {
    var kind = Object.keys(output)[0];
    var node;
    if (kind === "carousel") node = carousel(output.carousel);
    else if (CARDS[kind]) node = CARDS[kind](output[kind]);
    else node = el("div", "bubble", "[지원하지 않는 형식: " + kind + "]");
    node.dataset.kind = kind;
    return node;
  }

  // ---- conversation ----------------------------------------------------------------------
  function addUser(text, save) {
    var m = el("div", "msg user");
    m.appendChild(el("span", "time", timeNow()));
    m.appendChild(el("div", "bubble", text));
    chat.appendChild(m);
    if (save !== false) remember({ who: "user", text: text });
    scrollDown();
  }
  function addBot(response, tag, save) {
    var m = el("div", "msg bot");
    m.appendChild(el("span", "emu-avatar", "탄"));
    var body = el("div", "body");
    var sender = el("div", "sender", CFG.botName || "bot");
    if (tag) sender.appendChild(el("span", "tag", tag));
    body.appendChild(sender);
    var outputs = (response && response.template && response.template.outputs) || [];
    if (!outputs.length) {
      m.classList.add("error");
      body.appendChild(el("div", "bubble", "응답을 보여 줄 수 없어요: " + JSON.stringify(response).slice(0, 300)));
    }
    outputs.forEach(function (o) { body.appendChild(component(o)); });
    m.appendChild(body);
    chat.appendChild(m);
    if (!tag) showQuickReplies((response && response.template && response.template.quickReplies) || []);
    if (save !== false) remember({ who: "bot", response: response, tag: tag || null });
    Array.prototype.forEach.call(m.querySelectorAll("img"), function (i) { i.addEventListener("load", scrollDown); });
    scrollDown();
  }
  function showQuickReplies(list) {
    quick.textContent = "";
    list.forEach(function (q) {
      var b = el("button", null, q.label); b.type = "button";
      b.dataset.action = q.action || "";
      b.addEventListener("click", function () { act("quickReply", q); });
      quick.appendChild(b);
    });
  }
  function setBusy(busy) {
    state.busy = busy; sendBtn.disabled = busy;
    Array.prototype.forEach.call(quick.querySelectorAll("button"), function (b) { b.disabled = busy; });
  }
  function showDev(req, resp) {
    document.getElementById("dev-request").textContent = JSON.stringify(req, null, 2);
    document.getElementById("dev-response").textContent = JSON.stringify(resp, null, 2);
  }

  function send(body, shownText) {
    if (state.busy || !state.user) return Promise.resolve();
    body.user = state.user;
    if (shownText) addUser(shownText);
    quick.textContent = "";
    setBusy(true);
    return fetch(CFG.api.send, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin"
    }).then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); })
      .then(function (res) {
        if (res.status !== 200) { addBot({ template: { outputs: [{ simpleText: { text: "에뮬레이터 오류: " + (res.body.message || res.status) } }] } }, "오류"); return; }
        showDev(res.body.request, res.body.response);
        if (res.body.status !== 200) {
          addBot({ template: { outputs: [{ simpleText: { text: "스킬 서버가 HTTP " + res.body.status + "로 답했어요: " + JSON.stringify(res.body.response) } }] } }, "오류");
          return;
        }
        addBot(res.body.response);
      })
      .catch(function (e) { addBot({ template: { outputs: [{ simpleText: { text: "서버에 연결할 수 없어요: " + e } }] } }, "오류"); })
      .then(function () { setBusy(false); pollPushes(); input.focus(); });
  }

  function pollPushes() {
    if (!state.user) return;
    var user = state.user;
    var after = state.lastPush[user] || 0;
    fetch(CFG.api.pushes + "?user=" + encodeURIComponent(user) + "&after=" + after,
          { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : { pushes: [] }; })
      .then(function (j) {
        if (user !== state.user) return;
        (j.pushes || []).forEach(function (p) {
          if (p.id <= (state.lastPush[user] || 0)) return;
          state.lastPush[user] = p.id;
          saveLastPush();
          addBot(p.response, p.state === "sent" ? "알림" : "알림 (발송 대기)");
        });
      })
      .catch(function () { /* the next poll tries again */ });
  }
  function saveLastPush() { try { sessionStorage.setItem("cpoint-emulator:pushes", JSON.stringify(state.lastPush)); } catch (e) { /* ignore */ } }
  function loadLastPush() { try { state.lastPush = JSON.parse(sessionStorage.getItem("cpoint-emulator:pushes") || "{}"); } catch (e) { state.lastPush = {}; } }

  function selectUser(key, name) {
    state.user = key;
    Array.prototype.forEach.call(document.querySelectorAll(".emu-user"), function (b) {
      b.classList.toggle("active", b.dataset.user === key);
    });
    document.getElementById("current-user").textContent = name + " (으)로 대화 중";
    chat.textContent = ""; quick.textContent = "";
    var h = history(key);
    h.forEach(function (e) { if (e.who === "user") addUser(e.text, false); else addBot(e.response, e.tag, false); });
    try { sessionStorage.setItem("cpoint-emulator:user", key); } catch (e) { /* ignore */ }
    if (!h.length) send({ source: "welcome" });   // the welcome block, as when a chat is opened
    else pollPushes();
  }

  // ---- preview: the dashboard's campaign preview draws one reply and sends nothing --------
  var previewData = document.getElementById("kakao-preview");
  if (previewData) {
    state.preview = true;
    addBot(JSON.parse(previewData.textContent), null, false);
    return;
  }

  // ---- wiring ----------------------------------------------------------------------------
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text || state.busy) return;
    input.value = "";
    send({ source: "text", text: text }, text);
  });
  Array.prototype.forEach.call(document.querySelectorAll(".emu-user"), function (b) {
    b.addEventListener("click", function () { selectUser(b.dataset.user, b.dataset.name); });
  });
  document.getElementById("reset-chat").addEventListener("click", function () {
    if (!state.user) return;
    try { sessionStorage.removeItem(storageKey(state.user)); } catch (e) { /* ignore */ }
    var btn = document.querySelector('.emu-user[data-user="' + state.user + '"]');
    selectUser(state.user, btn ? btn.dataset.name : state.user);
  });
  document.getElementById("toggle-dev").addEventListener("change", function (ev) {
    document.getElementById("dev-panel").hidden = !ev.target.checked;
  });
  fetch(CFG.api.users, { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (j) {
      (j.users || []).forEach(function (u) {
        var b = document.querySelector('.emu-user[data-user="' + u.key + '"] .emu-user-badge');
        if (b) b.hidden = !u.member;
      });
    }).catch(function () { /* badges are a nicety */ });

  loadLastPush();
  var first = document.querySelector(".emu-user");
  var saved = null;
  try { saved = sessionStorage.getItem("cpoint-emulator:user"); } catch (e) { /* ignore */ }
  var start = (saved && document.querySelector('.emu-user[data-user="' + saved + '"]')) || first;
  if (start) selectUser(start.dataset.user, start.dataset.name);
  setInterval(pollPushes, 5000);
})();
