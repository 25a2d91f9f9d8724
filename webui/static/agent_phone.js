// The agent console's browser phone: JsSIP (webui/static/vendor/jssip.min.js, loaded only
// when needed) registers as the agent's extension over secure WebSocket when phone.json says
// it is a browser phone (Extension.browser_phone). Calls the ACD, campaigns and the console
// put through ring here: answer, hold, mute, keypad tones (RTP events) and hang up, all
// plain buttons (keyboard: Tab and Enter/Space; digits on the keypad while it has focus).
(function () {
  "use strict";
  const box = document.getElementById("browser-phone");
  if (!box) return;
  const $ = (id) => document.getElementById(id);
  const status = $("phone-status");
  const answerBtn = $("phone-answer");
  const holdBtn = $("phone-hold");
  const muteBtn = $("phone-mute");
  const hangupBtn = $("phone-hangup");
  const audio = $("phone-audio");
  const keys = Array.from(box.querySelectorAll("[data-dtmf]"));
  const t = (name, caller) => (box.dataset["t" + name[0].toUpperCase() + name.slice(1)] || name)
    .replace("{caller}", caller || "");
  let ua = null;
  let session = null;
  let caller = "";
  const title = document.title;

  // A ring while a call waits (Web Audio: no sound file), and the tab's title says so, so
  // an agent in another tab or window notices; both stop on answer, hang-up or cancel.
  let ringer = null;
  function ring(on) {
    document.title = on ? "\u260E " + t("ringing", caller) + " - " + title : title;
    if (!on) {
      if (ringer) { clearInterval(ringer.timer); ringer.ctx.close().catch(() => {}); }
      ringer = null;
      return;
    }
    if (ringer || !window.AudioContext) return;
    const ctx = new AudioContext();
    const burst = () => {
      const gain = ctx.createGain();
      gain.gain.value = 0.08;
      gain.connect(ctx.destination);
      for (const f of [440, 480]) {
        const osc = ctx.createOscillator();
        osc.frequency.value = f;
        osc.connect(gain);
        osc.start();
        osc.stop(ctx.currentTime + 1.5);
      }
    };
    ctx.resume().catch(() => {});
    burst();
    ringer = {ctx, timer: setInterval(burst, 4000)};
  }

  function show(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function buttons() {
    const live = !!session && session.isEstablished();
    const ringing = !!session && !live && session.direction === "incoming" &&
      !session.isEnded();
    answerBtn.hidden = !ringing;
    holdBtn.disabled = muteBtn.disabled = !live;
    hangupBtn.disabled = !session;
    for (const k of keys) k.disabled = !live;
    const held = live && session.isOnHold().local;
    const muted = live && session.isMuted().audio;
    holdBtn.setAttribute("aria-pressed", String(held));
    holdBtn.textContent = held ? t("resume") : t("hold");
    muteBtn.setAttribute("aria-pressed", String(muted));
    muteBtn.textContent = muted ? t("unmute") : t("mute");
  }

  function ended() {
    ring(false);
    session = null;
    audio.srcObject = null;
    show(ua && ua.isRegistered() ? "registered" : "unregistered",
         t(ua && ua.isRegistered() ? "registered" : "unregistered"));
    buttons();
  }

  function incoming(s) {
    if (session) {  // one call at a time: the agent is busy
      s.terminate({status_code: 486, reason_phrase: "Busy Here"});
      return;
    }
    session = s;
    const id = s.remote_identity;
    caller = (id && (id.display_name || (id.uri && id.uri.user))) || "";
    show("ringing", t("ringing", caller));
    s.on("peerconnection", (e) => {
      e.peerconnection.addEventListener("track", (ev) => {
        if (ev.streams && ev.streams[0]) audio.srcObject = ev.streams[0];
      });
    });
    s.on("accepted", () => ring(false));
    s.on("confirmed", () => { ring(false); show("talking", t("talking", caller)); buttons(); });
    s.on("hold", () => { show("held", t("held", caller)); buttons(); });
    s.on("unhold", () => { show("talking", t("talking", caller)); buttons(); });
    s.on("muted", buttons);
    s.on("unmuted", buttons);
    s.on("ended", ended);
    s.on("failed", ended);
    buttons();
    ring(true);
    answerBtn.focus();
  }

  answerBtn.addEventListener("click", () => {
    if (!session || session.isEstablished()) return;
    try {
      session.answer({mediaConstraints: {audio: true, video: false},
                      pcConfig: {iceServers: []}, rtcOfferConstraints: {offerToReceiveAudio: true}});
    } catch (e) {
      show("failed", t("nomic"));
    }
    buttons();
  });
  hangupBtn.addEventListener("click", () => { if (session) session.terminate(); });
  holdBtn.addEventListener("click", () => {
    if (!session || !session.isEstablished()) return;
    if (session.isOnHold().local) session.unhold(); else session.hold();
  });
  muteBtn.addEventListener("click", () => {
    if (!session || !session.isEstablished()) return;
    if (session.isMuted().audio) session.unmute({audio: true}); else session.mute({audio: true});
  });
  function tone(key) {
    if (session && session.isEstablished()) {
      session.sendDTMF(key, {transportType: "RFC2833", duration: 160, interToneGap: 80});
    }
  }
  for (const k of keys) k.addEventListener("click", () => tone(k.dataset.dtmf));
  box.addEventListener("keydown", (ev) => {
    if (/^[0-9*#]$/.test(ev.key) && session && session.isEstablished()) {
      ev.preventDefault();
      tone(ev.key);
    }
  });

  function load(src) {
    return new Promise((resolve, reject) => {
      if (window.JsSIP) { resolve(); return; }
      const el = document.createElement("script");
      el.src = src;
      el.onload = resolve;
      el.onerror = reject;
      document.head.appendChild(el);
    });
  }

  async function start() {
    let cfg;
    try {
      const res = await fetch(box.dataset.config, {credentials: "same-origin",
                                                   headers: {"Accept": "application/json"},
                                                   cache: "no-store"});
      if (!res.ok) return;
      cfg = await res.json();
    } catch (e) {
      return;
    }
    if (!cfg.enabled) return;
    box.hidden = false;
    $("phone-number").textContent = cfg.number;
    show("connecting", t("connecting"));
    await load(box.dataset.lib);
    const JsSIP = window.JsSIP;
    ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(cfg.ws_url)],
      uri: cfg.uri, authorization_user: cfg.user, password: cfg.password,
      display_name: cfg.name, register: true, register_expires: 300,
      session_timers: false, user_agent: "voxcast browser phone (JsSIP)",
    });
    ua.on("registered", () => { if (!session) show("registered", t("registered")); });
    ua.on("unregistered", () => { if (!session) show("unregistered", t("unregistered")); });
    ua.on("registrationFailed", () => show("failed", t("failed")));
    ua.on("disconnected", () => { if (!session) show("unregistered", t("unregistered")); });
    ua.on("newRTCSession", (e) => {
      if (e.originator === "remote") incoming(e.session);
    });
    ua.start();
    window.addEventListener("pagehide", () => { try { ua.stop(); } catch (e) { /* leaving */ } });
  }

  buttons();
  start();
})();
