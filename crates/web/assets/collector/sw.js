// The collector app's service worker, scoped to /c/. The server writes
// `VERSION` and `ASSETS` (the versioned asset URLs) in front of this file.
//
// - Versioned assets (app.js, app.css, manifest, icon): precached at
//   install, then cache-first (their URL changes when they do).
// - Pages under /c/: network-first; each good answer is kept, and served
//   when the network is gone (the garage).
// - API GETs (/c/api/v1/…, the API with the session cookie): network-first
//   with the cached copy as fallback;
//   the server-sent event streams are never touched.
// - POSTs are never cached: they go straight to the network, and app.js
//   keeps them in its queue when that fails.
"use strict";

const ASSET_CACHE = "doorstep-c-assets-" + VERSION;
const PAGE_CACHE = "doorstep-c-pages-v1";
const API_CACHE = "doorstep-c-api-v1";
// The last itinerary page seen: what /c opens when offline.
const LAST_TODAY = "/c/__last-today";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(ASSET_CACHE).then(function (c) {
      return c.addAll(ASSETS);
    }).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (keys) {
      return Promise.all(keys.filter(function (k) {
        return k.indexOf("doorstep-c-assets-") === 0 && k !== ASSET_CACHE;
      }).map(function (k) { return caches.delete(k); }));
    }).then(function () {
      return self.clients.claim();
    })
  );
});

// A page that loaded while this worker was activating asks to be claimed.
self.addEventListener("message", function (event) {
  if (event.data === "claim") event.waitUntil(self.clients.claim());
});

function isAsset(url) {
  return url.pathname.indexOf("/c/") === 0 && url.search.indexOf("?v=") === 0 &&
    /\.(js|css|webmanifest|svg)$/.test(url.pathname);
}

function isPage(req, url) {
  if (url.pathname.indexOf("/c/") !== 0 && url.pathname !== "/c") return false;
  if (url.pathname.indexOf("/c/api/") === 0) return false;
  if (/\.(js|css|webmanifest|svg)$/.test(url.pathname)) return false;
  if (url.pathname.indexOf("/c/lang/") === 0) return false;
  return req.mode === "navigate" || (req.headers.get("accept") || "").indexOf("text/html") >= 0 ||
    req.headers.get("x-doorstep-prefetch") === "1";
}

function isApiGet(url) {
  return url.pathname.indexOf("/c/api/v1/") === 0 && !/\/events$/.test(url.pathname);
}

function cacheFirst(req) {
  return caches.match(req).then(function (hit) {
    if (hit) return hit;
    return fetch(req).then(function (res) {
      if (res.ok) {
        const copy = res.clone();
        caches.open(ASSET_CACHE).then(function (c) { c.put(req, copy); });
      }
      return res;
    });
  });
}

/// The page's own URL, without the one-time ok/err messages.
function pageKey(url) {
  const u = new URL(url.href);
  u.searchParams.delete("ok");
  u.searchParams.delete("err");
  u.hash = "";
  return u.href;
}

function pageNetworkFirst(req, url, event) {
  const key = pageKey(url);
  // A fresh request: the prefetch header must not reach the server as a
  // navigation, and credentials always go along.
  const netReq = new Request(url.href, { credentials: "include", redirect: req.mode === "navigate" ? "manual" : "follow" });
  return fetch(req.mode === "navigate" ? req : netReq).then(function (res) {
    const good = res.ok && res.type === "basic" && !res.redirected &&
      (res.headers.get("content-type") || "").indexOf("text/html") === 0;
    if (good) {
      const copy = res.clone();
      const copy2 = /\/today$/.test(url.pathname) ? res.clone() : null;
      // Keep the worker alive until the copy is stored (a prefetched page
      // must be in the cache before the phone goes underground).
      event.waitUntil(caches.open(PAGE_CACHE).then(function (c) {
        return Promise.all([c.put(key, copy), copy2 ? c.put(LAST_TODAY, copy2) : null]);
      }));
    }
    return res;
  }).catch(function () {
    return caches.open(PAGE_CACHE).then(function (c) {
      return c.match(key).then(function (hit) {
        if (hit) return hit;
        if (url.pathname === "/c" || url.pathname === "/c/" || /\/today$/.test(url.pathname)) {
          return c.match(LAST_TODAY);
        }
        return undefined;
      });
    }).then(function (hit) {
      return hit || offlinePage();
    });
  });
}

function offlinePage() {
  const html = "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">" +
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>离线</title></head>" +
    "<body style=\"font:18px/1.6 system-ui,sans-serif;padding:1rem\"><main><h1>当前离线</h1>" +
    "<p>这一页还没有保存在本机。请回到<a href=\"/c/\">今晚行程</a>，或到有信号处再打开。</p>" +
    "<p lang=\"en\">You are offline and this page was not saved on the phone yet.</p></main></body></html>";
  return new Response(html, { status: 503, headers: { "content-type": "text/html; charset=utf-8" } });
}

function apiNetworkFirst(req) {
  return fetch(req).then(function (res) {
    if (res.ok) {
      const copy = res.clone();
      caches.open(API_CACHE).then(function (c) { c.put(req, copy); });
    }
    return res;
  }).catch(function (e) {
    return caches.open(API_CACHE).then(function (c) {
      return c.match(req);
    }).then(function (hit) {
      if (hit) return hit;
      throw e;
    });
  });
}

self.addEventListener("fetch", function (event) {
  const req = event.request;
  if (req.method !== "GET") return; // POSTs: never cached, straight to the network
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  if (isAsset(url)) {
    event.respondWith(cacheFirst(req));
  } else if (isPage(req, url)) {
    event.respondWith(pageNetworkFirst(req, url, event));
  } else if (isApiGet(url)) {
    event.respondWith(apiNetworkFirst(req));
  }
});
