// The collector app: status bar, the offline queue and its sync, and the
// tools of a stop (check-in, cash, QR, payment code, signature, outcome).
// No libraries. Money is integer fen throughout: "123.45" is parsed with
// string operations, never with floating point.
(function () {
  "use strict";

  var EN = document.documentElement.lang === "en";
  var M = {
    online: ["在线", "Online"],
    offline: ["离线", "Offline"],
    queued: ["待同步 {n} 条", "{n} to sync"],
    saved: ["已保存，待同步", "Saved, will sync"],
    syncedOk: ["已同步 {n} 条", "{n} synced"],
    relogin: ["登录已过期，请重新登录后同步（记录仍保存在本机）", "Signed out: sign in again to sync (the records stay on this phone)"],
    locating: ["正在获取定位…", "Getting your location…"],
    inside: ["在范围内", "Inside the area"],
    outside: ["不在范围内（已标记）", "Outside the area (flagged)"],
    no_fix: ["无定位（已标记）", "No location (flagged)"],
    no_fence: ["此处未设范围", "No area set here"],
    checkedIn: ["已签到：", "Checked in: "],
    metres: ["距中心约 {m} 米", "about {m} m from the centre"],
    badAmount: ["请输入正确的金额，如 123.45", "Enter an amount such as 123.45"],
    overOwed: ["金额超过欠费 {owed}", "More than is owed ({owed})"],
    shortCash: ["实收现金少于收款金额", "Less cash than the amount"],
    change: ["找零 ", "Change "],
    cashOk: ["已收现金 {a}，找零 {c}，尚欠 {o}", "Cash {a} taken, change {c}, still owed {o}"],
    cashQueued: ["现金 {a} 已保存，待同步", "Cash {a} saved, will sync"],
    receiptOk: ["电子收据 No.{n} 已发至业主手机，点此出示", "E-receipt No.{n} sent to the owner's phone; tap to show it"],
    receiptSoon: ["电子收据已开出，签章后发至业主手机，点此出示", "E-receipt made; it goes to the owner's phone once sealed. Tap to show it"],
    cashLabel: ["现金 {a}", "Cash {a}"],
    qrNeedsNet: ["二维码收款需要网络，请改用现金或到有信号处", "QR payment needs the network: take cash, or move to where there is a signal"],
    qrTitle: ["{p}扫码支付 {a}", "{p}: scan to pay {a}"],
    wechat: ["微信", "WeChat"],
    alipay: ["支付宝", "Alipay"],
    paid: ["已支付", "Paid"],
    closed: ["已关闭", "Closed"],
    failed: ["支付失败", "Payment failed"],
    secondsLeft: ["剩余 {m}:{s}", "{m}:{s} left"],
    expired: ["二维码已过期", "The QR code has expired"],
    waitPassword: ["等待业主输入密码…", "Waiting for the owner to enter the password…"],
    codeWechat: ["微信付款码", "WeChat pay code"],
    codeAlipay: ["支付宝付款码", "Alipay pay code"],
    scanStart: ["用摄像头扫码", "Scan with the camera"],
    scanStop: ["停止扫码", "Stop scanning"],
    scanNoCamera: ["无法打开摄像头，请输入付款码数字", "The camera cannot be opened; type the digits"],
    codeUnknown: ["无法识别的付款码（微信10–15开头，支付宝25–30开头）", "Unknown code (WeChat starts 10–15, Alipay 25–30)"],
    codeNeedsNet: ["付款码收款需要网络，请改用现金或到有信号处", "Payment codes need the network: take cash, or move to where there is a signal"],
    paidAmount: ["已支付 {a}", "Paid {a}"],
    signFirst: ["请业主先在签名区签名", "The owner must sign first"],
    signOk: ["签名已保存", "Signature saved"],
    signQueued: ["签名已保存，待同步", "Signature saved, will sync"],
    signLabel: ["签名 {a}", "Signature {a}"],
    signNone: ["本次上门还没有待业主签名确认的收款", "No payment at this visit is waiting for the owner's signature"],
    codeTitle: ["{p}付款码收款 {a}", "{p} payment code {a}"],
    openWaitQr: ["等待业主扫码支付", "Waiting for the owner to scan and pay"],
    openWaitCode: ["等待业主确认支付", "Waiting for the owner to confirm"],
    checkinLabel: ["签到", "Check-in"],
    outcomeLabel: ["结果：{r}", "Outcome: {r}"],
    pickResult: ["请选择结果", "Choose a result"],
    needReason: ["拒绝缴费时请填写原因", "Give the reason for refusing"],
    outcomeOk: ["已记录：{r}", "Recorded: {r}"],
    outcomeQueued: ["结果已保存，待同步", "Outcome saved, will sync"],
    result_paid: ["已缴清", "Paid in full"],
    result_partly_paid: ["部分缴费", "Partly paid"],
    result_not_paid: ["拒绝缴费", "Refused to pay"],
    result_owner_absent: ["业主不在家", "Owner not at home"],
    waiting: ["待同步", "waiting"],
    principal: ["本金", "principal"],
    lateFee: ["滞纳金", "late fee"],
    property: ["物业费", "Property fee"],
    parking: ["车位费", "Parking fee"],
    on_behalf: ["代收代付", "Collected on behalf"],
    other: ["其他", "Other"],
    error: ["出错：", "Error: "],
    netError: ["网络不可用", "No network"]
  };
  function t(key, vars) {
    var s = (M[key] || [key, key])[EN ? 1 : 0];
    if (vars) {
      Object.keys(vars).forEach(function (k) { s = s.split("{" + k + "}").join(String(vars[k])); });
    }
    return s;
  }
  function $(id) { return document.getElementById(id); }
  function say(el, text, cls) {
    if (!el) return;
    el.textContent = text;
    el.className = cls || "";
  }

  /** Appends the e-receipt's link (to show the owner) after a message. */
  function receiptLink(el, r) {
    if (!el || !r || !r.url) return;
    var a = document.createElement("a");
    a.href = r.url;
    a.className = "receipt-link";
    if (r.number) {
      a.setAttribute("data-receipt", r.number);
      a.textContent = " " + t("receiptOk", { n: r.number });
    } else {
      a.setAttribute("data-receipt", "");
      a.textContent = " " + t("receiptSoon", {});
    }
    el.appendChild(a);
  }

  // ---- money: integer fen ------------------------------------------------

  /** "1,234.5" / "¥12" / "12.30元" → fen (integer), or null. */
  function parseFen(s) {
    s = String(s == null ? "" : s).trim().replace(/^[¥￥]/, "").replace(/元$/, "").split(",").join("").split("，").join("").trim();
    var m = /^(\d{1,9})(?:\.(\d{0,2}))?$/.exec(s);
    if (!m) return null;
    var frac = (m[2] || "") + "00";
    return parseInt(m[1], 10) * 100 + parseInt(frac.slice(0, 2), 10);
  }
  function yuanText(f) {
    var neg = f < 0;
    f = Math.abs(f);
    var cents = f % 100;
    return (neg ? "-" : "") + ((f - cents) / 100) + "." + (cents < 10 ? "0" : "") + cents;
  }
  /** For people, as the server shows money: "¥1,234.56". */
  function fmt(f) {
    var s = yuanText(f), neg = s.charAt(0) === "-";
    var p = (neg ? s.slice(1) : s).split(".");
    return "¥" + (neg ? "-" : "") + p[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + "." + p[1];
  }

  // ---- client keys --------------------------------------------------------

  function newKey() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    var hex = "";
    if (c && c.getRandomValues) {
      var b = new Uint8Array(16);
      c.getRandomValues(b);
      for (var i = 0; i < b.length; i++) hex += (b[i] < 16 ? "0" : "") + b[i].toString(16);
    } else {
      while (hex.length < 32) hex += Math.floor(Math.random() * 0x10000).toString(16);
    }
    return "k" + hex.slice(0, 32);
  }

  // ---- the queue (localStorage) ---------------------------------------------

  var QKEY = "doorstep.c.queue";
  var FKEY = "doorstep.c.failed";
  function load(k) {
    try { return JSON.parse(localStorage.getItem(k) || "[]") || []; } catch (e) { return []; }
  }
  function store(k, v) {
    try { localStorage.setItem(k, JSON.stringify(v)); } catch (e) { /* full: kept in memory only */ }
  }
  function queue() { return load(QKEY); }
  function enqueue(item) {
    var q = queue();
    q.push(item);
    store(QKEY, q);
    changed();
  }
  function update(key, f) {
    var q = queue();
    q.forEach(function (it) { if (it.action.client_key === key) f(it); });
    store(QKEY, q);
  }
  function removeKey(key) {
    store(QKEY, queue().filter(function (it) { return it.action.client_key !== key; }));
    changed();
  }
  function fail(item, why) {
    var f = load(FKEY);
    f.push({ label: item.label, why: why, at: Date.now(), booking_id: item.action.booking_id });
    store(FKEY, f);
  }

  // ---- status bar -----------------------------------------------------------

  function changed() {
    var net = $("net");
    if (net) {
      var on = navigator.onLine !== false;
      net.textContent = on ? t("online") : t("offline");
      net.className = on ? "net" : "net off";
    }
    var n = queue().length;
    var qc = $("queue-count");
    if (qc) {
      qc.textContent = t("queued", { n: n });
      qc.className = n > 0 ? "some" : "";
      qc.setAttribute("data-count", String(n));
    }
    var fl = load(FKEY);
    var box = $("failed-box");
    if (box) {
      box.hidden = fl.length === 0;
      var ul = $("failed-list");
      ul.textContent = "";
      fl.forEach(function (f) {
        var li = document.createElement("li");
        li.textContent = f.label + " — " + f.why;
        ul.appendChild(li);
      });
    }
    if (typeof onQueueChanged === "function") onQueueChanged();
  }
  var onQueueChanged = null;

  // ---- HTTP -----------------------------------------------------------------

  function NetError(msg) { this.name = "NetError"; this.message = msg; }

  /** JSON request; resolves {status, data}; rejects with NetError when the network fails. */
  function api(method, path, body, timeoutMs) {
    var ctl = typeof AbortController === "function" ? new AbortController() : null;
    var timer = ctl ? setTimeout(function () { ctl.abort(); }, timeoutMs || 20000) : null;
    var init = {
      method: method,
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
      cache: "no-store"
    };
    if (ctl) init.signal = ctl.signal;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    // /c/api/v1: the API with this page's session cookie (/api/v1 takes
    // bearer tokens only).
    return fetch("/c/api/v1" + path, init).then(function (res) {
      if (timer) clearTimeout(timer);
      return res.text().then(function (txt) {
        var data = null;
        try { data = txt ? JSON.parse(txt) : null; } catch (e) { data = { message: txt }; }
        return { status: res.status, data: data };
      });
    }, function (e) {
      if (timer) clearTimeout(timer);
      throw new NetError(String(e && e.message || e));
    });
  }
  function errText(r) {
    var d = r.data || {};
    return t("error") + (d.message || d.error || ("HTTP " + r.status));
  }

  // ---- sync -----------------------------------------------------------------

  var syncing = false;
  function sync() {
    if (syncing || navigator.onLine === false) return Promise.resolve();
    var now = Date.now();
    // Not the ones whose first attempt is still under way.
    var items = queue().filter(function (it) { return !it.sending || now - it.sending > 60000; }).slice(0, 200);
    if (items.length === 0) return Promise.resolve();
    syncing = true;
    return api("POST", "/sync", { actions: items.map(function (it) { return it.action; }) }, 60000).then(function (r) {
      if (r.status === 401) {
        say($("sync-note") || makeSyncNote(), t("relogin"), "err");
        return;
      }
      if (r.status !== 200 || !r.data || !r.data.results) return;
      var done = 0;
      r.data.results.forEach(function (res, i) {
        var item = items[i];
        var key = res.client_key || (item && item.action.client_key);
        var it = items.filter(function (x) { return x.action.client_key === key; })[0] || item;
        if (!it) return;
        if (!res.ok) {
          fail(it, (res.detail && res.detail.error) || "rejected");
        } else {
          done++;
        }
        removeKey(it.action.client_key);
      });
      var note = $("sync-note");
      if (note && done > 0) say(note, t("syncedOk", { n: done }), "ok");
      document.dispatchEvent(new CustomEvent("doorstep:synced", { detail: r.data.results }));
    }, function () { /* still offline: try again later */ }).then(function () {
      syncing = false;
      changed();
    });
  }
  function makeSyncNote() {
    var p = document.createElement("p");
    p.id = "sync-note";
    p.setAttribute("role", "status");
    var main = document.querySelector("main");
    if (main) main.insertBefore(p, main.children[1] || null);
    return p;
  }

  /**
   * A write: queued first (with its client key), then tried at once.
   * `done(data)` on success, `queued()` when it waits for the network,
   * `refused(text, answer)` when the server said no (4xx): it is then dropped.
   */
  function write(item, path, body, cb, timeoutMs) {
    item.sending = Date.now();
    enqueue(item);
    var key = item.action.client_key;
    function toQueue() {
      update(key, function (it) { it.action.offline = true; it.sending = 0; });
      changed();
      cb.queued();
    }
    if (navigator.onLine === false) { toQueue(); return; }
    api("POST", path, body, timeoutMs).then(function (r) {
      if (r.status >= 200 && r.status < 300) {
        removeKey(key);
        cb.done(r.data);
      } else if (r.status >= 400 && r.status < 500 && r.status !== 401 && r.status !== 408 && r.status !== 429) {
        removeKey(key);
        cb.refused(errText(r), r);
      } else {
        toQueue();
        if (r.status === 401) say($("sync-note") || makeSyncNote(), t("relogin"), "err");
      }
    }, function () { toQueue(); });
  }
  function directBody(action) {
    var b = {};
    Object.keys(action).forEach(function (k) {
      if (k !== "kind" && k !== "booking_id") b[k] = action[k];
    });
    return b;
  }

  // ---- canonical JSON (keys sorted, no whitespace) --------------------------

  function canonical(v) {
    if (v === null || typeof v !== "object") return JSON.stringify(v);
    if (Array.isArray(v)) return "[" + v.map(canonical).join(",") + "]";
    return "{" + Object.keys(v).sort().map(function (k) {
      return JSON.stringify(k) + ":" + canonical(v[k]);
    }).join(",") + "}";
  }

  // ---- service worker ---------------------------------------------------------

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/c/sw.js", { scope: "/c/" }).catch(function (e) { window.__swError = String(e); });
  }

  window.addEventListener("online", function () { changed(); sync(); });
  window.addEventListener("offline", changed);
  setInterval(sync, 30000);
  var fc = $("failed-clear");
  if (fc) fc.addEventListener("click", function () { store(FKEY, []); changed(); });

  function json(id) {
    var el = $(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  // ---- the itinerary page -----------------------------------------------------

  var day = json("day");
  if (day) {
    try { localStorage.setItem("doorstep.c.day." + day.estate, JSON.stringify(day)); } catch (e) { /* full */ }
    keepShift(day.estate, day.shift_id, day.rendered_at_ms);
    onQueueChanged = function () {
      var pending = {};
      queue().forEach(function (it) { pending[it.action.booking_id] = (pending[it.action.booking_id] || 0) + 1; });
      Array.prototype.forEach.call(document.querySelectorAll("li.stop"), function (li) {
        var n = pending[li.getAttribute("data-booking")] || 0;
        var tag = li.querySelector(".qtag");
        if (n > 0 && !tag) {
          tag = document.createElement("span");
          tag.className = "tag qtag";
          li.querySelector(".stop-head").appendChild(tag);
        }
        if (tag) {
          if (n > 0) tag.textContent = t("waiting") + " " + n; else tag.parentNode.removeChild(tag);
        }
      });
    };
    // Keep every stop's page on the phone for the garage.
    // (Only once the worker controls this page: its fetches then pass through it.)
    var prefetched = false;
    var prefetch = function () {
      if (prefetched || !navigator.serviceWorker.controller || navigator.onLine === false) return;
      prefetched = true;
      (day.stops || []).forEach(function (s, i) {
        setTimeout(function () {
          fetch("/c/visit/" + s.booking.id, { credentials: "same-origin", headers: { "x-doorstep-prefetch": "1" } }).catch(function () {});
        }, 300 * i);
      });
    };
    if ("serviceWorker" in navigator) {
      // Whichever comes first: already controlled, the worker claiming this
      // page, or the worker being ready (checked again shortly after, in
      // case the claim landed before this listener existed).
      prefetch();
      navigator.serviceWorker.addEventListener("controllerchange", prefetch);
      navigator.serviceWorker.ready.then(function (reg) {
        // A worker that activated while this page was still loading did not
        // claim it: ask it to, so the stops are kept on this first visit.
        if (!navigator.serviceWorker.controller && reg.active) reg.active.postMessage("claim");
        prefetch();
        setTimeout(prefetch, 1000);
        setTimeout(prefetch, 4000);
      });
    }
  }

  // ---- the shift cash is taken under ---------------------------------------------
  // Whichever page was rendered last knows the shift best (a page served from
  // the cache offline may be older than the shift the collector opened since).
  function keepShift(estate, id, at) {
    if (!estate || id === undefined) return;
    var k = "doorstep.c.shift." + estate;
    try {
      var was = JSON.parse(localStorage.getItem(k) || "null");
      if (!was || (at || 0) >= (was.at || 0)) localStorage.setItem(k, JSON.stringify({ id: id, at: at || 0 }));
    } catch (e) { /* storage unavailable */ }
  }
  function currentShift(estate) {
    try {
      var s = JSON.parse(localStorage.getItem("doorstep.c.shift." + estate) || "null");
      return s ? s.id : null;
    } catch (e) { return null; }
  }

  // ---- one stop -----------------------------------------------------------------

  var ctx = json("ctx");
  var stop = json("stop");
  if (ctx && stop) visit(ctx, stop);

  function visit(ctx, stop) {
    var id = ctx.booking_id;
    keepShift(ctx.estate, ctx.shift_id, ctx.rendered_at_ms);
    var where = (stop.booking.labels || []).join("、");
    var lines = [];
    // What the owner confirms by signing: one payment — the one just taken,
    // else the last one of this visit not signed for yet (recorded, or cash
    // still in the queue). Null when there is none.
    var confirm = null;
    var confirmFixed = false;
    // Payments recorded at this visit and not signed for (from the server).
    var unsigned = ctx.unsigned_payments || [];
    // Signed on this page already (ids, and "k:" + cash client keys).
    var signedHere = {};

    // Bills not yet due: paid only when ticked as a prepayment (#prepay).
    var later = [];
    function lineOfRow(r) {
      return {
        line_id: r.line_id, item: r.fee_item, period: r.period, due: r.due_date,
        category: r.category, principal: r.principal_owed, late: r.late_fee_owed,
        object: r.object, calc: EN ? r.late_fee_text_en : r.late_fee_text
      };
    }
    /** Line ids of the bills not yet due that the owner chose to prepay. */
    function prepaid() {
      return Array.prototype.map.call(document.querySelectorAll("#prepay input.prepay-line:checked"), function (el) { return Number(el.value); });
    }
    /** What a payment pays now: the lines due now, plus any chosen prepayment. */
    function payable() {
      var chosen = prepaid();
      return lines.concat(later.filter(function (l) { return chosen.indexOf(l.line_id) >= 0; }));
    }
    function setLines(st) {
      lines = (st.lines || []).map(lineOfRow);
      later = (st.not_yet_due || []).map(lineOfRow);
      // Cash still waiting in the queue is taken off what is shown as owed.
      queue().forEach(function (it) {
        if (it.action.booking_id === id && it.action.kind === "cash") {
          var f = parseFen(it.action.amount);
          if (f) applyAllocation(allocate(f));
        }
      });
    }
    function owed() {
      return payable().reduce(function (s, l) { return s + l.principal + l.late; }, 0);
    }
    /** Oldest due date first; within a line the late fee before the principal. */
    function allocate(amount) {
      var order = payable().sort(function (a, b) {
        return a.due < b.due ? -1 : a.due > b.due ? 1 : a.period < b.period ? -1 : a.period > b.period ? 1 : a.line_id - b.line_id;
      });
      var left = amount, out = [];
      order.forEach(function (l) {
        if (left <= 0) return;
        var late = Math.min(left, Math.max(0, l.late));
        left -= late;
        var pr = Math.min(left, Math.max(0, l.principal));
        left -= pr;
        if (late > 0 || pr > 0) out.push({ line_id: l.line_id, late_fee: late, principal: pr });
      });
      return out;
    }
    function applyAllocation(alloc) {
      alloc.forEach(function (a) {
        lines.concat(later).forEach(function (l) {
          if (l.line_id === a.line_id) {
            l.late = Math.max(0, l.late - a.late_fee);
            l.principal = Math.max(0, l.principal - a.principal);
          }
        });
      });
    }
    function lineOf(lid) { return lines.concat(later).filter(function (l) { return l.line_id === lid; })[0]; }
    function confirmOf(amount, alloc, paymentId, paymentKey) {
      return {
        amount: amount,
        payment_id: paymentId == null ? null : paymentId,
        payment_key: paymentKey == null ? null : paymentKey,
        lines: alloc.map(function (a) {
          var l = lineOf(a.line_id) || {};
          return { line_id: a.line_id, item: l.item || "", period: l.period || "", category: l.category || "other", principal_fen: a.principal, late_fee_fen: a.late_fee };
        })
      };
    }
    /** The last payment of this visit not signed for yet, or null. */
    function toSign() {
      var ids = {}, keys = {};
      Object.keys(signedHere).forEach(function (k) { if (k.indexOf("k:") === 0) keys[k.slice(2)] = 1; else ids[k] = 1; });
      queue().forEach(function (it) {
        var a = it.action;
        if (a.kind !== "signature" || a.booking_id !== id) return;
        if (a.payment_id != null) ids[a.payment_id] = 1;
        if (a.payment_key) keys[a.payment_key] = 1;
      });
      var found = [];
      unsigned.forEach(function (p) {
        if (ids[p.payment_id]) return;
        found.push({ amount: p.amount, payment_id: p.payment_id, payment_key: null, lines: p.lines || [] });
      });
      queue().forEach(function (it) {
        var a = it.action;
        if (a.kind !== "cash" || a.booking_id !== id || keys[a.client_key]) return;
        found.push({ amount: parseFen(a.amount), payment_id: null, payment_key: a.client_key, lines: it.shown_lines || [] });
      });
      return found.length ? found[found.length - 1] : null;
    }

    function render() {
      // What is due now is shown as such; the amount asked adds only a
      // prepayment the owner chose (#prepay, unticked by default).
      var total = owed();
      var dueNow = lines.reduce(function (s, l) { return s + l.principal + l.late; }, 0);
      var ot = $("owed-total");
      if (ot) { ot.textContent = fmt(dueNow); ot.setAttribute("data-fen", String(dueNow)); }
      ["cash-amount", "qr-amount", "code-amount"].forEach(function (k) {
        var el = $(k);
        if (el && !el.getAttribute("data-touched")) el.value = yuanText(total);
      });
      if (!confirmFixed) confirm = toSign();
      renderOwed();
      renderConfirm();
      renderPending();
      cashChange();
    }
    /** The lines and the category table as they stand on the phone now. */
    function renderOwed() {
      var open = lines.filter(function (l) { return l.principal + l.late > 0; });
      var ul = document.querySelector("#owed ul.lines");
      if (ul) {
        ul.textContent = "";
        open.forEach(function (l) {
          var li = document.createElement("li");
          li.setAttribute("data-line", String(l.line_id));
          var head = document.createElement("b");
          head.textContent = l.object + " · " + l.item + " · " + l.period;
          li.appendChild(head);
          li.appendChild(document.createElement("br"));
          li.appendChild(document.createTextNode(t("principal") + " " + fmt(l.principal) + " · " + t("lateFee") + " " + fmt(l.late) + " · "));
          var tot = document.createElement("b");
          tot.textContent = fmt(l.principal + l.late);
          li.appendChild(tot);
          if (l.calc) {
            li.appendChild(document.createElement("br"));
            var c = document.createElement("span");
            c.className = "calc";
            c.textContent = l.calc;
            li.appendChild(c);
          }
          ul.appendChild(li);
        });
      }
      var tb = document.querySelector("#owed table.cats tbody");
      if (tb) {
        var order = [], sums = {};
        open.forEach(function (l) {
          if (!sums[l.category]) { sums[l.category] = [0, 0]; order.push(l.category); }
          sums[l.category][0] += l.principal;
          sums[l.category][1] += l.late;
        });
        tb.textContent = "";
        order.forEach(function (c) {
          var tr = document.createElement("tr");
          var th = document.createElement("th");
          th.setAttribute("scope", "row");
          th.textContent = t(c);
          tr.appendChild(th);
          [sums[c][0], sums[c][1], sums[c][0] + sums[c][1]].forEach(function (f) {
            var td = document.createElement("td");
            td.className = "num";
            td.textContent = fmt(f);
            tr.appendChild(td);
          });
          tb.appendChild(tr);
        });
      }
    }
    function renderConfirm() {
      var none = $("sign-none"), sb = $("sign-submit");
      if (none) none.hidden = !!confirm;
      if (sb) sb.disabled = !confirm;
      var box = $("sign-shown");
      if (box) {
        box.setAttribute("data-payment", confirm && confirm.payment_id != null ? String(confirm.payment_id) : "");
        box.setAttribute("data-payment-key", confirm && confirm.payment_key ? confirm.payment_key : "");
      }
      say($("sign-amount"), confirm ? fmt(confirm.amount) : "—");
      var ul = $("sign-lines");
      if (!ul) return;
      ul.textContent = "";
      if (!confirm) return;
      var cats = {};
      confirm.lines.forEach(function (l) {
        cats[l.category] = (cats[l.category] || 0) + l.principal_fen + l.late_fee_fen;
        var li = document.createElement("li");
        li.textContent = l.item + " " + l.period + " · " + t("principal") + " " + fmt(l.principal_fen) +
          (l.late_fee_fen ? " · " + t("lateFee") + " " + fmt(l.late_fee_fen) : "");
        ul.appendChild(li);
      });
      var sum = Object.keys(cats).map(function (c) { return t(c) + " " + fmt(cats[c]); }).join(" · ");
      if (sum) {
        var li = document.createElement("li");
        li.className = "cats";
        li.textContent = sum;
        ul.appendChild(li);
      }
    }
    function renderPending() {
      var box = $("pending-box");
      if (!box) return;
      var mine = queue().filter(function (it) { return it.action.booking_id === id; });
      box.hidden = mine.length === 0;
      var ul = $("pending-list");
      ul.textContent = "";
      mine.forEach(function (it) {
        var li = document.createElement("li");
        li.textContent = it.label + " — " + t("waiting");
        ul.appendChild(li);
      });
    }
    onQueueChanged = renderPending;

    // The freshest copy of this stop kept on the phone (the page itself may
    // come from the service worker's cache, older than what happened since).
    var KEPT = "doorstep.c.stop." + id;
    function reload() {
      return api("GET", "/visits/" + id).then(function (r) {
        if (r.status === 200 && r.data) {
          try { localStorage.setItem(KEPT, JSON.stringify({ at: Date.now(), stop: r.data })); } catch (e) { /* full */ }
          if (r.data.unsigned_payments) unsigned = r.data.unsigned_payments;
          setLines(r.data);
          render();
        }
      }, function () {});
    }
    document.addEventListener("doorstep:synced", function () { reload(); });

    var kept = null;
    try { kept = JSON.parse(localStorage.getItem(KEPT) || "null"); } catch (e) { kept = null; }
    var newer = kept && kept.stop && kept.at > (ctx.rendered_at_ms || 0);
    if (newer && kept.stop.unsigned_payments) unsigned = kept.stop.unsigned_payments;
    setLines(newer ? kept.stop : stop);
    render();
    if (navigator.onLine !== false) reload();
    ["cash-amount", "qr-amount", "code-amount"].forEach(function (k) {
      var el = $(k);
      if (el) el.addEventListener("input", function () { el.setAttribute("data-touched", "1"); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("#prepay input.prepay-line"), function (el) {
      el.addEventListener("change", function () {
        ["cash-amount", "qr-amount", "code-amount"].forEach(function (k) { var a = $(k); if (a) a.removeAttribute("data-touched"); });
        render();
      });
    });

    // -- check-in
    var cb = $("checkin-btn");
    if (cb) cb.addEventListener("click", function () {
      var out = $("checkin-result");
      cb.disabled = true;
      say(out, t("locating"));
      var key = newKey();
      function send(pos) {
        var action = { kind: "checkin", booking_id: id, device: (navigator.userAgent || "").slice(0, 150), client_key: key, offline: false };
        if (pos) {
          action.lat = pos.coords.latitude;
          action.lng = pos.coords.longitude;
          action.accuracy = pos.coords.accuracy;
          action.fix_at_ms = pos.timestamp || Date.now();
        } else {
          action.fix_at_ms = Date.now();
        }
        write({ action: action, label: t("checkinLabel") + " · " + where }, "/visits/" + id + "/check-in", directBody(action), {
          done: function (c) {
            cb.disabled = false;
            var text = t("checkedIn") + t(c.verdict);
            if (c.distance_m != null && c.verdict !== "no_fix") text += "（" + t("metres", { m: c.distance_m }) + "）";
            say(out, text, c.verdict === "inside" || c.verdict === "no_fence" ? "ok" : "warn");
            out.setAttribute("data-verdict", c.verdict);
          },
          queued: function () { cb.disabled = false; say(out, t("saved"), "pending"); out.setAttribute("data-verdict", "queued"); },
          refused: function (msg) { cb.disabled = false; say(out, msg, "err"); }
        });
      }
      if (!navigator.geolocation) { send(null); return; }
      navigator.geolocation.getCurrentPosition(send, function () { send(null); }, { enableHighAccuracy: true, timeout: 10000, maximumAge: 0 });
    });

    // -- cash
    function cashChange() {
      var el = $("cash-change");
      if (!el) return;
      var a = parseFen($("cash-amount").value);
      var tv = $("cash-tendered").value.trim();
      var tf = tv === "" ? a : parseFen(tv);
      if (a == null || tf == null) { el.textContent = t("change") + "—"; return; }
      if (tf < a) { say(el, t("shortCash"), "warn"); return; }
      el.className = "";
      el.textContent = t("change");
      var b = document.createElement("b");
      b.textContent = fmt(tf - a);
      el.appendChild(b);
    }
    var cf = $("cash-form");
    if (cf) {
      $("cash-amount").addEventListener("input", cashChange);
      $("cash-tendered").addEventListener("input", cashChange);
      cf.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var out = $("cash-result");
        var a = parseFen($("cash-amount").value);
        var tv = $("cash-tendered").value.trim();
        var tf = tv === "" ? a : parseFen(tv);
        if (!a || a <= 0 || tf == null) { say(out, t("badAmount"), "err"); return; }
        if (tf < a) { say(out, t("shortCash"), "err"); return; }
        if (a > owed()) { say(out, t("overOwed", { owed: fmt(owed()) }), "err"); return; }
        var btn = $("cash-submit");
        btn.disabled = true;
        var action = { kind: "cash", booking_id: id, amount: yuanText(a), tendered: yuanText(tf), client_key: newKey(), taken_at_ms: Date.now(), offline: false, shift_id: currentShift(ctx.estate), prepay: prepaid().length > 0 };
        var localAlloc = allocate(a);
        // What the owner will be shown to sign for it, kept with the queued cash.
        var shownLines = confirmOf(a, localAlloc, null).lines;
        write({ action: action, label: t("cashLabel", { a: fmt(a) }) + " · " + where, shown_lines: shownLines }, "/visits/" + id + "/cash", directBody(action), {
          done: function (r) {
            btn.disabled = false;
            var alloc = (r.payment.allocation || []).map(function (x) { return { line_id: x.line_id, late_fee: x.late_fee, principal: x.principal }; });
            confirm = confirmOf(r.payment.amount, alloc, r.payment.id); confirmFixed = true;
            applyAllocation(alloc);
            say(out, t("cashOk", { a: fmt(r.payment.amount), c: fmt(r.change), o: fmt(r.still_owed) }), "ok");
            out.setAttribute("data-payment", String(r.payment.id));
            receiptLink(out, r.receipt);
            $("cash-tendered").value = "";
            render();
            reload();
          },
          queued: function () {
            btn.disabled = false;
            confirm = confirmOf(a, localAlloc, null, action.client_key); confirmFixed = true;
            applyAllocation(localAlloc);
            say(out, t("cashQueued", { a: fmt(a) }), "pending");
            out.setAttribute("data-payment", "queued");
            $("cash-tendered").value = "";
            render();
          },
          refused: function (msg, r) { btn.disabled = false; say(out, msg, "err"); heldByOrder(r); }
        });
      });
    }

    // -- QR (and any open order of this visit: after a reload, a killed app
    // or a restarted phone the page shows it again, from ctx.open_orders)
    var qr = null; // {id, es, timer, poll, left}
    function qrStop() {
      if (!qr) return;
      if (qr.es) qr.es.close();
      if (qr.timer) clearInterval(qr.timer);
      if (qr.poll) clearInterval(qr.poll);
    }
    function qrFinished() {
      $("qr-svg").hidden = true;
      $("qr-cancel").hidden = true;
      var re = $("qr-reopened");
      if (re) re.hidden = true;
      say($("qr-countdown"), "");
      qrStop();
      qr.done = true;
    }
    function qrState(v) {
      var st = $("qr-state");
      if (v.status === "paid") {
        say(st, t("paid") + " " + fmt(qr.amount), "big paid");
        receiptLink(st, v.receipt);
        qrFinished();
        var alloc = allocate(qr.amount);
        confirm = confirmOf(qr.amount, alloc, v.payment_id); confirmFixed = true;
        applyAllocation(alloc);
        render();
        reload();
      } else if (v.status === "open") {
        say(st, EN ? t(qr.code ? "openWaitCode" : "openWaitQr") : (v.state_zh || t(qr.code ? "openWaitCode" : "openWaitQr")), "big");
        qr.left = v.seconds_left;
      } else {
        say(st, v.status === "closed" ? t("closed") : t("failed"), "big");
        qrFinished();
      }
      $("qr-box").setAttribute("data-status", v.status);
    }
    function qrPoll() {
      if (!qr || qr.done) return;
      var q = qr;
      api("GET", "/payments/" + q.id).then(function (r) { if (r.status === 200 && qr === q && !q.done) qrState(r.data); }, function () {});
    }
    /** Shows order `v` (a PaymentView) in the QR box and follows its state. */
    function qrShow(v) {
      qrStop();
      var provider = v.provider || String(v.method || "").split("_")[0];
      var isCode = /_code$/.test(v.method || "");
      qr = { id: v.id, amount: v.amount, left: v.seconds_left, done: false, code: isCode };
      var box = $("qr-box");
      box.hidden = false;
      box.setAttribute("data-payment", String(v.id));
      say($("qr-title"), t(isCode ? "codeTitle" : "qrTitle", { p: t(provider), a: fmt(v.amount) }), "big");
      var svg = $("qr-svg");
      // SVG made by our own server from the order's stored code.
      svg.innerHTML = v.qr_svg || "";
      svg.hidden = !v.qr_svg;
      svg.setAttribute("data-code", v.code || "");
      $("qr-cancel").hidden = false;
      qrState(v);
      if (qr.done) return;
      var q = qr;
      q.timer = setInterval(function () {
        if (qr !== q || q.done) return;
        q.left = Math.max(0, q.left - 1);
        var m = Math.floor(q.left / 60), s = q.left % 60;
        say($("qr-countdown"), q.code ? "" : q.left > 0 ? t("secondsLeft", { m: m, s: (s < 10 ? "0" : "") + s }) : t("expired"), "muted");
        if (q.left === 0 && !q.code) qrPoll();
      }, 1000);
      if (typeof EventSource === "function") {
        var es = new EventSource("/c/api/v1/payments/" + v.id + "/events");
        q.es = es;
        es.addEventListener("state", function (ev) {
          try { if (qr === q && !q.done) qrState(JSON.parse(ev.data)); } catch (e) { /* ignore a bad event */ }
        });
        es.onerror = function () {
          // The stream ends when the order does; otherwise fall back to polling.
          if (qr === q && !q.done && !q.poll) q.poll = setInterval(qrPoll, 3000);
        };
      } else {
        q.poll = setInterval(qrPoll, 3000);
      }
    }
    /**
     * A payment refused because the bills are held by an open order: the
     * server's message (in this page's language) says so, and the order is
     * shown again to finish or cancel.
     */
    function heldByOrder(r) {
      var d = r && r.data;
      if (!d || d.error !== "held_by_open_order") return false;
      var list = d.open_orders || [];
      if (list.length && (!qr || qr.done || qr.id !== list[list.length - 1].id)) qrShow(list[list.length - 1]);
      var box = $("qr-box");
      if (box && !box.hidden) box.scrollIntoView();
      return true;
    }
    function qrStart(provider) {
      var out = $("qr-result");
      say(out, "");
      $("qr-offline").hidden = true;
      var a = parseFen($("qr-amount").value);
      if (!a || a <= 0) { say(out, t("badAmount"), "err"); return; }
      if (navigator.onLine === false) { $("qr-offline").hidden = false; return; }
      var re = $("qr-reopened");
      if (re) re.hidden = true;
      var buttons = [$("qr-wechat"), $("qr-alipay")];
      buttons.forEach(function (b) { b.disabled = true; });
      api("POST", "/visits/" + id + "/qr", { provider: provider, amount: yuanText(a), client_key: newKey(), prepay: prepaid().length > 0 }, 30000).then(function (r) {
        buttons.forEach(function (b) { b.disabled = false; });
        if (r.status !== 200) { say(out, errText(r), "err"); heldByOrder(r); return; }
        qrShow(r.data);
      }, function () {
        buttons.forEach(function (b) { b.disabled = false; });
        $("qr-offline").hidden = false;
      });
    }
    if ($("qr-box")) {
      $("qr-cancel").addEventListener("click", function () {
        if (!qr) return;
        var q = qr;
        $("qr-cancel").disabled = true;
        api("POST", "/payments/" + q.id + "/cancel", {}).then(function (r) {
          $("qr-cancel").disabled = false;
          if (r.status === 200 && qr === q && !q.done) qrState(r.data);
          else if (r.status !== 200) say($("qr-result"), errText(r), "err");
        }, function () { $("qr-cancel").disabled = false; $("qr-offline").hidden = false; });
      });
      // The order still open at this visit (rendered in the page) is followed again.
      var open = ctx.open_orders || [];
      if (open.length) qrShow(open[open.length - 1]);
    }
    if ($("qr-wechat")) {
      $("qr-wechat").addEventListener("click", function () { qrStart("wechat"); });
      $("qr-alipay").addEventListener("click", function () { qrStart("alipay"); });
    }

    // -- the owner's payment code
    function codeProvider(code) {
      var p2 = parseInt(code.slice(0, 2), 10);
      if (code.length >= 2 && p2 >= 10 && p2 <= 15) return "wechat";
      if (code.length >= 2 && p2 >= 25 && p2 <= 30) return "alipay";
      return null;
    }
    var codeForm = $("code-form");
    if (codeForm) {
      $("code-digits").addEventListener("input", function () {
        var c = $("code-digits").value.replace(/\D/g, "");
        var p = codeProvider(c);
        say($("code-provider"), c.length < 2 ? "" : p === "wechat" ? t("codeWechat") : p === "alipay" ? t("codeAlipay") : t("codeUnknown"), "muted");
      });
      // Camera scanning where the browser has BarcodeDetector (Chrome on
      // Android); a handheld scanner types into the digits field anyway.
      var scanBtn = $("code-scan");
      if (scanBtn && "BarcodeDetector" in window && navigator.mediaDevices) {
        scanBtn.hidden = false;
        scanBtn.textContent = t("scanStart");
        var video = $("code-video");
        var stream = null;
        var stopScan = function () {
          if (stream) stream.getTracks().forEach(function (tr) { tr.stop(); });
          stream = null;
          video.hidden = true;
          scanBtn.textContent = t("scanStart");
        };
        scanBtn.addEventListener("click", function () {
          if (stream) { stopScan(); return; }
          var detector;
          try { detector = new window.BarcodeDetector({ formats: ["code_128", "qr_code", "ean_13"] }); }
          catch (e) { say($("code-provider"), t("scanNoCamera"), "warn"); return; }
          navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (s2) {
            stream = s2;
            video.srcObject = s2;
            video.hidden = false;
            video.play();
            scanBtn.textContent = t("scanStop");
            var look = function () {
              if (!stream) return;
              detector.detect(video).then(function (found) {
                var hit = (found || []).map(function (f) { return (f.rawValue || "").replace(/\D/g, ""); })
                  .filter(function (c) { return c.length >= 16 && codeProvider(c); })[0];
                if (hit) {
                  $("code-digits").value = hit;
                  $("code-digits").dispatchEvent(new Event("input"));
                  stopScan();
                } else {
                  setTimeout(look, 250);
                }
              }, function () { setTimeout(look, 500); });
            };
            look();
          }, function () { say($("code-provider"), t("scanNoCamera"), "warn"); });
        });
      }
      codeForm.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var out = $("code-result");
        var a = parseFen($("code-amount").value);
        var code = $("code-digits").value.replace(/\D/g, "");
        var p = codeProvider(code);
        if (!a || a <= 0) { say(out, t("badAmount"), "err"); return; }
        if (!p) { say(out, t("codeUnknown"), "err"); return; }
        if (navigator.onLine === false) { say(out, t("codeNeedsNet"), "warn"); return; }
        var btn = $("code-submit");
        btn.disabled = true;
        say(out, t("waitPassword"), "pending");
        var amount = a;
        function finish(v) {
          btn.disabled = false;
          out.setAttribute("data-status", v.status);
          if (v.status === "paid") {
            say(out, t("paidAmount", { a: fmt(v.amount) }), "ok");
            receiptLink(out, v.receipt);
            var alloc = allocate(v.amount);
            confirm = confirmOf(v.amount, alloc, v.payment_id); confirmFixed = true;
            applyAllocation(alloc);
            $("code-digits").value = "";
            render();
            reload();
          } else if (v.status === "open") {
            say(out, EN ? t("waitPassword") : (v.state_zh || t("waitPassword")), "pending");
            btn.disabled = true;
            setTimeout(function () {
              api("GET", "/payments/" + v.id).then(function (r) { if (r.status === 200) finish(r.data); else { btn.disabled = false; say(out, errText(r), "err"); } },
                function () { btn.disabled = false; say(out, t("codeNeedsNet"), "warn"); });
            }, 3000);
          } else {
            say(out, v.status === "closed" ? t("closed") : t("failed"), "err");
          }
        }
        api("POST", "/visits/" + id + "/code-payment", { provider: p, amount: yuanText(amount), auth_code: code, client_key: newKey(), prepay: prepaid().length > 0 }, 60000).then(function (r) {
          if (r.status === 200) finish(r.data); else { btn.disabled = false; say(out, errText(r), "err"); heldByOrder(r); }
        }, function () { btn.disabled = false; say(out, t("codeNeedsNet"), "warn"); });
      });
    }

    // -- signature pad
    var pad = $("sign-pad");
    var strokes = [];
    var t0 = null;
    if (pad) {
      var g = pad.getContext("2d");
      var drawing = null;
      var clear = function () {
        g.fillStyle = "#fff";
        g.fillRect(0, 0, pad.width, pad.height);
        strokes = [];
        t0 = null;
      };
      clear();
      var at = function (ev) {
        var r = pad.getBoundingClientRect();
        var x = Math.round((ev.clientX - r.left) * pad.width / r.width);
        var y = Math.round((ev.clientY - r.top) * pad.height / r.height);
        var now = Date.now();
        if (t0 === null) t0 = now;
        return [Math.max(0, Math.min(pad.width, x)), Math.max(0, Math.min(pad.height, y)), now - t0];
      };
      g.lineWidth = 4;
      g.lineCap = "round";
      g.lineJoin = "round";
      g.strokeStyle = "#111";
      pad.addEventListener("pointerdown", function (ev) {
        ev.preventDefault();
        if (pad.setPointerCapture) { try { pad.setPointerCapture(ev.pointerId); } catch (e) { /* fine */ } }
        var p = at(ev);
        drawing = [p];
        strokes.push(drawing);
        g.beginPath();
        g.arc(p[0], p[1], 2, 0, 2 * Math.PI);
        g.fillStyle = "#111";
        g.fill();
      });
      pad.addEventListener("pointermove", function (ev) {
        if (!drawing) return;
        ev.preventDefault();
        var p = at(ev);
        var last = drawing[drawing.length - 1];
        g.beginPath();
        g.moveTo(last[0], last[1]);
        g.lineTo(p[0], p[1]);
        g.stroke();
        drawing.push(p);
      });
      var end = function () { drawing = null; };
      pad.addEventListener("pointerup", end);
      pad.addEventListener("pointercancel", end);
      pad.addEventListener("pointerleave", end);
      $("sign-clear").addEventListener("click", function () { clear(); say($("sign-result"), ""); });
      $("sign-submit").addEventListener("click", function () {
        var out = $("sign-result");
        if (!confirm) { say(out, t("signNone"), "err"); return; }
        var points = strokes.reduce(function (s, x) { return s + x.length; }, 0);
        if (points < 2) { say(out, t("signFirst"), "err"); return; }
        // What the owner saw: the payment (its id, or the client key of the
        // cash still in the queue), its amount and what it paid.
        var c = confirm;
        var shown = canonical({
          amount_fen: c.amount,
          booking_id: id,
          collector_id: ctx.collector_id,
          lines: c.lines.map(function (l) {
            return { item: l.item, late_fee_fen: l.late_fee_fen, line_id: l.line_id, period: l.period, principal_fen: l.principal_fen };
          }),
          payment_id: c.payment_id,
          payment_key: c.payment_key
        });
        var action = {
          kind: "signature", booking_id: id, shown: shown,
          strokes: { w: pad.width, h: pad.height, strokes: strokes },
          png_base64: pad.toDataURL("image/png"),
          payment_id: c.payment_id, payment_key: c.payment_key, signed_at_ms: Date.now(), client_key: newKey(), offline: false
        };
        var btn = $("sign-submit");
        btn.disabled = true;
        // Signed: the card moves on to the next payment not signed for, if any.
        function signed() {
          signedHere[c.payment_id != null ? String(c.payment_id) : "k:" + c.payment_key] = true;
          if (confirm === c) { confirm = null; confirmFixed = false; }
          clear();
          render();
        }
        write({ action: action, label: t("signLabel", { a: fmt(c.amount) }) + " · " + where }, "/visits/" + id + "/signature", directBody(action), {
          done: function (s) { say(out, t("signOk"), "ok"); out.setAttribute("data-signature", String(s.id)); out.setAttribute("data-signature-payment", String(s.payment_id)); signed(); },
          queued: function () { say(out, t("signQueued"), "pending"); out.setAttribute("data-signature", "queued"); signed(); },
          refused: function (msg) { btn.disabled = false; say(out, msg, "err"); }
        });
      });
    }

    // -- outcome
    var of = $("outcome-form");
    if (of) of.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var out = $("outcome-result");
      var picked = of.querySelector("input[name=result]:checked");
      if (!picked) { say(out, t("pickResult"), "err"); return; }
      var reason = $("outcome-reason").value.trim();
      if (picked.value === "not_paid" && !reason) { say(out, t("needReason"), "err"); return; }
      var action = { kind: "outcome", booking_id: id, result: picked.value, reason: reason, client_key: newKey() };
      var label = t("outcomeLabel", { r: t("result_" + picked.value) });
      var btn = $("outcome-submit");
      btn.disabled = true;
      // Outcomes go through /sync even online: a repeat is then a replay, not an error.
      write({ action: action, label: label + " · " + where }, "/sync", { actions: [action] }, {
        done: function (d) {
          btn.disabled = false;
          var r = d && d.results && d.results[0];
          if (r && r.ok) say(out, t("outcomeOk", { r: t("result_" + picked.value) }), "ok");
          else say(out, t("error") + ((r && r.detail && r.detail.error) || "?"), "err");
        },
        queued: function () { btn.disabled = false; say(out, t("outcomeQueued"), "pending"); },
        refused: function (msg) { btn.disabled = false; say(out, msg, "err"); }
      });
    });
  }

  changed();
  sync();
})();
