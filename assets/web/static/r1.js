/* Citizen receipt page: decode the signed receipt from the URL fragment, verify it with
   WebCrypto against the province trust list, then ask the server for the dossier's status.
   Formats (see onestop/domain/receipt.py and onestop/crypto/cose.py):
   - "r1 digits": 7-byte groups as 17 zero-padded digits; a final group of k = 1..6 bytes as
     3, 5, 8, 10, 13 or 15 digits. Any other length, or a group that overflows, is malformed.
   - COSE_Sign1: tag 18, [protected bstr {1: alg, 4: kid}, {}, payload bstr, 64-byte sig],
     signed bytes = CBOR ["Signature1", protected, h'', payload]; alg -7 ES256, -8 EdDSA.
   - claims: CBOR map 1..11 (version, province, commune, [YYMMDD, desk, counter], procedure,
     name, received epoch s, appointment minutes after the received minute, fee, desk seq,
     official).
   No innerHTML anywhere: every value is set with textContent. */
(function () {
  "use strict";

  var T = {
    vi: {
      title: "Kiểm tra biên nhận hồ sơ", other: "English",
      checking: "Đang kiểm tra…",
      genuine: "Biên nhận hợp lệ",
      altered: "Biên nhận đã bị sửa",
      malformed: "Mã biên nhận không hợp lệ",
      unknown: "Không rõ khóa ký",
      revoked: "Khóa ký đã bị thu hồi",
      offline: "Chưa kiểm tra được",
      empty: "Không có biên nhận",
      d_genuine: "Chữ ký đúng: ký bởi {desk}, theo danh sách tin cậy của tỉnh phiên bản {v}.",
      d_altered: "Chữ ký không khớp với nội dung: biên nhận đã bị sửa hoặc bị giả mạo. Đừng tin các thông tin trên giấy này.",
      d_malformed: "Đường dẫn không chứa một biên nhận đọc được (có thể bị sửa, chụp thiếu hoặc gõ sai).",
      d_unknown: "Khóa ký của biên nhận không có trong danh sách tin cậy của tỉnh. Có thể là giả mạo; hãy hỏi Bộ phận Một cửa.",
      d_scope: "Khóa ký này không được cấp cho xã hoặc tỉnh ghi trên biên nhận.",
      d_revoked: "Khóa ký của quầy đã bị thu hồi từ {at}, trước thời điểm ghi trên biên nhận.",
      d_validity: "Thời điểm tiếp nhận nằm ngoài thời hạn hiệu lực của khóa ký.",
      d_offline: "Không tải được danh sách tin cậy của tỉnh (mất kết nối?). Hãy thử lại.",
      d_server: "{m}",
      d_nocrypto: "Trình duyệt này không hỗ trợ kiểm tra chữ ký (cần trình duyệt mới hơn, qua https).",
      d_empty: "Hãy quét mã QR in trên giấy tiếp nhận hồ sơ.",
      fields: "Nội dung biên nhận", unverified: "Các thông tin dưới đây CHƯA được xác thực.",
      code: "Mã hồ sơ", procedure: "Mã thủ tục", procedure_named: "Thủ tục", name: "Người nộp", received: "Tiếp nhận lúc",
      due: "Hẹn trả kết quả", fee: "Lệ phí", official: "Cán bộ tiếp nhận", desk: "Quầy",
      place: "Xã / tỉnh", none: "Không hẹn", status: "Tình trạng hồ sơ",
      st_loading: "Đang tra cứu…",
      st_unknown: "Tỉnh chưa nhận được dữ liệu của hồ sơ này (quầy chưa đồng bộ). Biên nhận vẫn có giá trị; xin xem lại sau.",
      st_rate: "Tra cứu quá nhiều lần; xin thử lại sau ít phút.",
      st_fail: "Chưa tra cứu được tình trạng (lỗi kết nối). Kết quả kiểm tra chữ ký ở trên vẫn đúng.",
      st_server: "{m}",
      st_updated: "Cập nhật lần cuối: {at}.",
      st_sync: "Quầy đồng bộ lần cuối: {at}.",
      about: "Chữ ký được kiểm tra ngay trên máy của bạn; chỉ khi biên nhận hợp lệ, trang mới hỏi máy chủ tỉnh về tình trạng hồ sơ.",
      at: "{h}:{m} ngày {d} tháng {mo} năm {y}",
      appt: "{s} — hẹn trả {when}"
    },
    en: {
      title: "Check a dossier receipt", other: "Tiếng Việt",
      checking: "Checking…",
      genuine: "Genuine receipt",
      altered: "Altered receipt",
      malformed: "Not a valid receipt code",
      unknown: "Unknown signing key",
      revoked: "Signing key revoked",
      offline: "Could not check yet",
      empty: "No receipt",
      d_genuine: "The signature is correct: signed by {desk}, province trust list version {v}.",
      d_altered: "The signature does not match the content: this receipt was altered or forged. Do not trust what it says.",
      d_malformed: "The link does not hold a readable receipt (altered, partly scanned or mistyped).",
      d_unknown: "The receipt's signing key is not on the province trust list. It may be forged; ask the one-stop desk.",
      d_scope: "This signing key was not issued for the commune or province on the receipt.",
      d_revoked: "The desk's signing key was revoked on {at}, before the time on this receipt.",
      d_validity: "The time of receipt is outside the signing key's validity.",
      d_offline: "Could not load the province trust list (no connection?). Please try again.",
      d_server: "The province server answered: «{m}»",
      no_trust_list: "The province has not published its trust list yet, so receipts cannot be checked. Please try again later or ask the one-stop desk.",
      d_nocrypto: "This browser cannot check signatures (a newer browser over https is needed).",
      d_empty: "Scan the QR code printed on your dossier receipt.",
      fields: "What the receipt says", unverified: "The details below are NOT verified.",
      code: "Dossier code", procedure: "Procedure code", procedure_named: "Procedure", name: "Applicant", received: "Received",
      due: "Appointment", fee: "Fee", official: "Received by", desk: "Desk",
      place: "Commune / province", none: "None", status: "Dossier status",
      st_loading: "Looking up…",
      st_unknown: "The province has not received this dossier yet (the desk has not synced). The receipt is still valid; please check again later.",
      st_rate: "Too many lookups; please try again in a few minutes.",
      st_fail: "Could not look up the status (connection error). The signature check above still holds.",
      st_server: "The province server answered: «{m}»",
      st_updated: "Last updated: {at}.",
      st_sync: "The desk last synced: {at}.",
      about: "The signature is checked on your own device; only for a genuine receipt does the page ask the province server for the dossier's status.",
      at: "{h}:{m}, {d}/{mo}/{y}",
      appt: "{s} — appointment {when}"
    }
  };
  var STATUS_EN = {
    received: "Received", forwarded: "Forwarded for processing", processing: "Being processed",
    supplement_requested: "Waiting for additional documents", payment_requested: "Waiting for fees to be paid",
    resolved: "Decided", result_ready: "Result ready for collection", returned: "Result returned",
    refused: "Refused at intake", withdrawn: "Stopped (withdrawn)"
  };

  var OPEN = ["received", "forwarded", "processing", "payment_requested", "resolved", "result_ready"];
  var lang = "vi";
  try { if (localStorage.getItem("onestop-lang") === "en") { lang = "en"; } } catch (e) { /* private mode */ }
  var view = { verdict: "checking", detail: "", claims: null, verified: false, status: null };

  function $(id) { return document.getElementById(id); }
  function fmt(s, o) { return s.replace(/\{(\w+)\}/g, function (_, k) { return o[k]; }); }
  function tr(k, o) { return fmt(T[lang][k], o || {}); }
  function pad(n, w) { n = String(n); while (n.length < w) { n = "0" + n; } return n; }

  function Bad(why) { this.why = why; }

  /* ---- r1 digits -> bytes (no BigInt needed) ---- */
  var WIDTH_BYTES = { 0: 0, 3: 1, 5: 2, 8: 3, 10: 4, 13: 5, 15: 6 };
  function decimalToBytes(s, n) {
    var out = new Uint8Array(n), i, j, carry;
    for (i = 0; i < s.length; i++) {
      carry = s.charCodeAt(i) - 48;
      for (j = n - 1; j >= 0; j--) { carry += out[j] * 10; out[j] = carry & 255; carry >>= 8; }
      if (carry) { throw new Bad("overflow"); }
    }
    return out;
  }
  function digitsToBytes(s) {
    if (!/^[0-9]+$/.test(s) || s.length > 2601) { throw new Bad("digits"); }
    var full = Math.floor(s.length / 17), rest = s.length % 17, parts = [], pos = 0, i, total = 0;
    if (!(rest in WIDTH_BYTES)) { throw new Bad("length"); }
    for (i = 0; i < full; i++) { parts.push(decimalToBytes(s.substr(pos, 17), 7)); pos += 17; }
    if (rest) { parts.push(decimalToBytes(s.substr(pos), WIDTH_BYTES[rest])); }
    parts.forEach(function (p) { total += p.length; });
    var out = new Uint8Array(total), at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }

  /* ---- strict CBOR: definite lengths, no duplicate keys, no floats, no trailing bytes ---- */
  function Tag(tag, value) { this.tag = tag; this.value = value; }
  function decodeCbor(b) {
    var p = 0, utf8 = new TextDecoder("utf-8", { fatal: true });
    function need(n) { if (p + n > b.length) { throw new Bad("short"); } }
    function arg(ai) {
      var v, i;
      if (ai < 24) { return ai; }
      if (ai > 27) { throw new Bad("ai"); }
      var n = 1 << (ai - 24); need(n); v = 0;
      for (i = 0; i < n; i++) { v = v * 256 + b[p++]; }
      if (v > Number.MAX_SAFE_INTEGER) { throw new Bad("big"); }
      return v;
    }
    function item(depth) {
      if (depth > 8) { throw new Bad("deep"); }
      need(1);
      var ib = b[p++], major = ib >> 5, ai = ib & 31, n, i, out, k;
      if (major === 7) {
        if (ai === 20) { return false; } if (ai === 21) { return true; }
        if (ai === 22) { return null; } throw new Bad("simple");
      }
      n = arg(ai);
      switch (major) {
        case 0: return n;
        case 1: return -1 - n;
        case 2: need(n); out = b.slice(p, p + n); p += n; return out;
        case 3: need(n); out = utf8.decode(b.subarray(p, p + n)); p += n; return out;
        case 4: out = []; for (i = 0; i < n; i++) { out.push(item(depth + 1)); } return out;
        case 5:
          out = new Map();
          for (i = 0; i < n; i++) {
            k = item(depth + 1);
            if (typeof k !== "number" && typeof k !== "string") { throw new Bad("key"); }
            if (out.has(k)) { throw new Bad("dup"); }
            out.set(k, item(depth + 1));
          }
          return out;
        default: return new Tag(n, item(depth + 1));
      }
    }
    var v = item(0);
    if (p !== b.length) { throw new Bad("trailing"); }
    return v;
  }
  function isBytes(x) { return x instanceof Uint8Array; }
  function isInt(x) { return typeof x === "number" && Math.floor(x) === x; }
  function isText(x) { return typeof x === "string"; }

  function parseSign1(bytes) {
    var top = decodeCbor(bytes);
    if (!(top instanceof Tag) || top.tag !== 18 || !Array.isArray(top.value) || top.value.length !== 4) { throw new Bad("cose"); }
    var m = top.value;
    if (!isBytes(m[0]) || !m[0].length || !(m[1] instanceof Map) || m[1].size || !isBytes(m[2]) || !isBytes(m[3]) || m[3].length !== 64) { throw new Bad("cose"); }
    var h = decodeCbor(m[0]);
    if (!(h instanceof Map)) { throw new Bad("hdr"); }
    h.forEach(function (_, key) { if (key !== 1 && key !== 4) { throw new Bad("hdr"); } });
    var alg = h.get(1), kid = h.get(4);
    if ((alg !== -7 && alg !== -8) || !isBytes(kid) || kid.length !== 8) { throw new Bad("hdr"); }
    return { protectedBytes: m[0], alg: alg, kid: kid, payload: m[2], signature: m[3] };
  }

  function bstrHead(n) {
    if (n < 24) { return [0x40 + n]; }
    if (n < 256) { return [0x58, n]; }
    return [0x59, n >> 8, n & 255];
  }
  function toBeSigned(msg) {
    var parts = [[0x84, 0x6a], Array.from("Signature1", function (c) { return c.charCodeAt(0); }),
      bstrHead(msg.protectedBytes.length), msg.protectedBytes, [0x40],
      bstrHead(msg.payload.length), msg.payload];
    var total = 0, out, at = 0;
    parts.forEach(function (x) { total += x.length; });
    out = new Uint8Array(total);
    parts.forEach(function (x) { out.set(x, at); at += x.length; });
    return out;
  }

  function parseClaims(payload) {
    var m = decodeCbor(payload), i, code;
    if (!(m instanceof Map) || m.size !== 11) { throw new Bad("claims"); }
    for (i = 1; i <= 11; i++) { if (!m.has(i)) { throw new Bad("claims"); } }
    code = m.get(4);
    if (m.get(1) !== 1 || !isInt(m.get(2)) || !isInt(m.get(3)) || !Array.isArray(code) || code.length !== 3 ||
        !code.every(isInt) || !isText(m.get(5)) || !isText(m.get(6)) || !isInt(m.get(7)) ||
        !(m.get(8) === null || isInt(m.get(8))) || !isInt(m.get(9)) || !isInt(m.get(10)) || !isText(m.get(11))) {
      throw new Bad("claims");
    }
    var received = m.get(7), offset = m.get(8);
    return {
      province: pad(m.get(2), 2), commune: pad(m.get(3), 5),
      // desk 00 (no number yet): the counter carries the desk's 6-digit tag in front (10 digits)
      tail: pad(code[0], 6) + "-" + pad(code[1], 2) + pad(code[2], code[1] === 0 ? 10 : 4),
      procedure: m.get(5), name: m.get(6), received: received,
      due: offset === null ? null : (Math.floor(received / 60) + offset) * 60,
      fee: m.get(9), desk: m.get(10), official: m.get(11), unit: null, deskLabel: null
    };
  }

  /* ---- WebCrypto ---- */
  function b64url(s) {
    var bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4)), out = new Uint8Array(bin.length), i;
    for (i = 0; i < bin.length; i++) { out[i] = bin.charCodeAt(i); }
    return out;
  }
  function hex(b) { return Array.from(b, function (x) { return (x < 16 ? "0" : "") + x.toString(16); }).join(""); }
  function verifyWith(entry, msg) {
    var subtle = window.crypto && window.crypto.subtle;
    var algo = entry.alg === -7 ? { name: "ECDSA", namedCurve: "P-256" } : { name: "Ed25519" };
    var check = entry.alg === -7 ? { name: "ECDSA", hash: "SHA-256" } : { name: "Ed25519" };
    return subtle.importKey("raw", b64url(entry.public_key), algo, false, ["verify"])
      .then(function (key) { return subtle.verify(check, key, msg.signature, toBeSigned(msg)); })
      .catch(function () { return false; });
  }

  function fetchTrust(kidHex) {
    var cacheKey = "onestop-trust-" + kidHex;
    return fetch("/api/v1/trust/keys/" + kidHex, { credentials: "omit" }).then(function (r) {
      if (!r.ok) { return refusal(r).then(function (why) { throw why; }); }
      return r.json();
    }).then(function (data) {
      try { localStorage.setItem(cacheKey, JSON.stringify(data)); } catch (e) { /* full or private */ }
      return data;
    }).catch(function (err) {
      var cached = null;
      try { cached = JSON.parse(localStorage.getItem(cacheKey) || "null"); } catch (e) { cached = null; }
      if (cached) { return cached; }
      throw err;
    });
  }

  /* The server's own reason when it answered but refused ({error, message}, message in
     Vietnamese); null when the answer is not ours (a proxy's or captive portal's page). */
  function refusal(r) {
    return r.json().then(function (d) {
      return d && typeof d.error === "string" && typeof d.message === "string" && d.message
        ? { server: true, error: d.error, message: d.message } : null;
    }, function () { return null; });
  }
  function serverWhy(err, claims) {
    return err && err.server
      ? { verdict: "offline", why: "d_server", server: err, claims: claims }
      : { verdict: "offline", why: "d_offline", claims: claims };
  }

  /* ---- the check itself (same order as onestop/crypto/verify.py) ---- */
  function verify(fragment) {
    var msg, raw = null;
    try { msg = parseSign1(digitsToBytes(fragment)); } catch (e) { return Promise.resolve({ verdict: "malformed" }); }
    try { raw = parseClaims(msg.payload); } catch (e) { raw = null; }
    if (!(window.crypto && window.crypto.subtle)) { return Promise.resolve({ verdict: "offline", why: "d_nocrypto", claims: raw }); }
    return fetchTrust(hex(msg.kid)).then(function (trust) {
      var entries = trust.items.filter(function (e) { return e.alg === msg.alg; });
      if (!trust.items.length) { return { verdict: "unknown", why: "d_unknown", claims: raw }; }
      return Promise.all(entries.map(function (e) { return verifyWith(e, msg); })).then(function (oks) {
        var good = entries.filter(function (_, i) { return oks[i]; }), inScope, i, e, reason = null;
        if (!good.length) { return { verdict: "altered" }; }
        if (!raw) { return { verdict: "malformed" }; }
        raw.unit = good[0].unit_eid; raw.deskLabel = good[0].desk_label;
        inScope = good.filter(function (x) { return x.commune === raw.commune && trust.province === raw.province; });
        if (!inScope.length) { return { verdict: "unknown", why: "d_scope", claims: raw }; }
        for (i = 0; i < inScope.length; i++) {
          e = inScope[i];
          if (e.revoked_at !== null && raw.received >= e.revoked_at) { reason = reason || { verdict: "revoked", why: "d_revoked", at: e.revoked_at, claims: raw }; continue; }
          if (raw.received < e.valid_from || (e.valid_to !== null && raw.received >= e.valid_to)) { reason = reason || { verdict: "revoked", why: "d_validity", claims: raw }; continue; }
          raw.unit = e.unit_eid; raw.deskLabel = e.desk_label;
          return { verdict: "genuine", claims: raw, version: trust.version };
        }
        return reason;
      });
    }, function (err) { return serverWhy(err, raw); });
  }

  function lookup(fragment) {
    view.status = { loading: true };
    render();
    fetch("/api/v1/receipts/status", {
      method: "POST", credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ receipt: fragment })
    }).then(function (r) {
      if (r.status === 429) { return { error: "st_rate" }; }
      if (!r.ok) {
        return refusal(r).then(function (why) {
          return why ? { error: "st_server", server: why } : { error: "st_fail" };
        });
      }
      return r.json();
    }).then(function (data) { view.status = data; render(); },
      function () { view.status = { error: "st_fail" }; render(); });
  }

  /* ---- display ---- */
  function when(epoch) {
    var d = new Date((epoch + 7 * 3600) * 1000), mo = d.getUTCMonth() + 1;
    return tr("at", { h: pad(d.getUTCHours(), 2), m: pad(d.getUTCMinutes(), 2), d: pad(d.getUTCDate(), 2),
      mo: lang === "vi" && mo > 2 ? mo : pad(mo, 2), y: d.getUTCFullYear() });
  }
  function isoWhen(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso || ""), mo;
    if (!m) { return ""; }
    mo = parseInt(m[2], 10);
    return tr("at", { h: m[4], m: m[5], d: m[3], mo: lang === "vi" && mo > 2 ? mo : m[2], y: m[1] });
  }
  function money(n) {
    var s = String(n).replace(/\B(?=(\d{3})+(?!\d))/g, lang === "vi" ? "." : ",");
    return lang === "vi" ? s + " đ" : "VND " + s;
  }
  function serverText(key, why) {
    if (lang === "vi") { return why.message; }
    return T.en[why.error] || tr(key, { m: why.message });
  }
  function row(dl, label, value) {
    var dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = label; dd.textContent = value;
    dl.appendChild(dt); dl.appendChild(dd);
  }

  function render() {
    document.documentElement.lang = lang;
    document.title = tr("title");
    $("title").textContent = tr("title");
    $("lang").textContent = tr("other");
    $("lang").lang = lang === "vi" ? "en" : "vi";
    $("about").textContent = tr("about");
    var box = $("verdict"), v = view.verdict, c = view.claims, dl = $("claims");
    box.className = "verdict " + v;
    box.setAttribute("data-verdict", v);
    $("verdict-word").textContent = tr(v);
    $("verdict-detail").textContent = view.detail === "d_genuine"
      ? tr("d_genuine", { desk: c.deskLabel, v: view.version })
      : view.detail === "d_server" ? serverText("d_server", view.server)
      : view.detail ? tr(view.detail, { at: view.at ? when(view.at) : "" }) : "";
    $("fields").hidden = !c;
    dl.textContent = "";
    if (c) {
      $("fields-title").textContent = tr("fields");
      $("fields-warning").hidden = view.verified;
      $("fields-warning").textContent = tr("unverified");
      row(dl, tr("code"), (c.unit || "…") + "-" + c.tail);
      row(dl, tr("name"), c.name);
      // The receipt carries only the code; the status answer names the procedure.
      if (view.status && view.status.procedure_name) {
        row(dl, tr("procedure_named"), view.status.procedure_name + " (" + c.procedure + ")");
      } else {
        row(dl, tr("procedure"), c.procedure);
      }
      row(dl, tr("received"), when(c.received));
      row(dl, tr("due"), c.due === null ? tr("none") : when(c.due));
      row(dl, tr("fee"), money(c.fee));
      if (c.official) { row(dl, tr("official"), c.official); }
      if (c.deskLabel) { row(dl, tr("desk"), c.deskLabel); }
      row(dl, tr("place"), (view.status && view.status.commune_name
        ? view.status.commune_name + " (" + c.commune + ")" : c.commune) + " / " + c.province);
    }
    var st = view.status, text = "", note = "";
    $("status").hidden = !st;
    if (st) {
      $("status-title").textContent = tr("status");
      if (st.loading) { text = tr("st_loading"); }
      else if (st.error === "st_server") { text = serverText("st_server", st.server); }
      else if (st.error) { text = tr(st.error); }
      else if (!st.known) {
        text = lang === "vi" ? st.message : tr("st_unknown");
        if (st.desk_last_sync) { note = tr("st_sync", { at: isoWhen(st.desk_last_sync) }); }
      } else {
        text = STATUS_EN[st.status] || st.status;
        if (st.appointment && OPEN.indexOf(st.status) >= 0) { text = tr("appt", { s: text, when: isoWhen(st.appointment) }); }
        if (lang === "vi") { text = st.message; }
        if (st.updated_at) { note = tr("st_updated", { at: isoWhen(st.updated_at) }); }
      }
      $("status-text").textContent = text;
      $("status-note").textContent = note;
    }
  }

  function run() {
    var fragment;
    try { fragment = decodeURIComponent(location.hash.replace(/^#/, "")).replace(/\s+/g, ""); } catch (e) { fragment = "?"; }
    view = { verdict: "checking", detail: "", claims: null, verified: false, status: null, server: null };
    if (!fragment) { view.verdict = "empty"; view.detail = "d_empty"; render(); return; }
    render();
    verify(fragment).then(function (res) {
      view.verdict = res.verdict;
      view.detail = res.verdict === "genuine" ? "d_genuine" : res.why || "d_" + res.verdict;
      view.claims = res.claims || null;
      view.verified = res.verdict === "genuine";
      view.version = res.version;
      view.at = res.at;
      view.server = res.server || null;
      render();
      if (res.verdict === "genuine") { lookup(fragment); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("lang").addEventListener("click", function () {
      lang = lang === "vi" ? "en" : "vi";
      try { localStorage.setItem("onestop-lang", lang); } catch (e) { /* ignore */ }
      render();
    });
    window.addEventListener("hashchange", run);
    run();
  });
}());
