// spinecoach service worker (served at /sw.js so its scope is the whole app). It shows the
// program's reminders as system notifications, so a prompt arrives while the spinecoach
// tab is in the background (the page decides when a reminder is due and asks this worker
// to show it), and a click on the notification brings the app's tab forward (or opens
// it). It caches nothing and does not touch the page's requests: no fetch handler.
// With every tab closed there is no prompt: the calendar file (.ics) covers that.
"use strict";

self.addEventListener("install", () => { self.skipWaiting(); });
self.addEventListener("activate", (event) => { event.waitUntil(self.clients.claim()); });

// The page may also post {type: "notify", title, body, tag, url}.
self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type !== "notify") return;
  event.waitUntil(self.registration.showNotification(data.title || "spinecoach", {
    body: data.body || "", tag: data.tag || "spinecoach-reminder",
    data: { url: data.url || "/" }, requireInteraction: true,
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin).href;
  event.waitUntil((async () => {
    const tabs = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    for (const tab of tabs) {
      if (new URL(tab.url).origin === self.location.origin) {
        await tab.focus();
        if ("navigate" in tab) await tab.navigate(url).catch(() => null);
        return;
      }
    }
    await self.clients.openWindow(url);
  })());
});
