// Live SMS segment counter. A textarea with data-sms-counter="<output element id>" shows
// there, while the tenant types, how many SMS the text takes and in which encoding. The rule
// is voxcast/messaging/sms/segments.py's (a unit test compares both through node): GSM 03.38
// default alphabet, extension characters count 2, 160 / 153 a part; any other character makes
// it UCS-2, 70 / 67 UTF-16 units a part, a character outside the BMP counting 2; a pair is
// never split across parts. Optional data-sms-counter-format on the textarea, with {units},
// {segments}, {encoding} and {left} (the server puts the translated text there).
(function (root) {
  "use strict";
  const BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  const EXTENSION = "\f^{}\\[~]|€";
  const LIMITS = {gsm7: [160, 153], ucs2: [70, 67]};

  function count(text) {
    const chars = Array.from(text);  // code points, as Python iterates a str
    const gsm = chars.every((c) => BASIC.includes(c) || EXTENSION.includes(c));
    const encoding = gsm ? "gsm7" : "ucs2";
    const weights = chars.map((c) => gsm ? (EXTENSION.includes(c) ? 2 : 1)
                                         : (c.codePointAt(0) > 0xFFFF ? 2 : 1));
    const units = weights.reduce((a, b) => a + b, 0);
    const [single, part] = LIMITS[encoding];
    if (units <= single) return {encoding, units, segments: 1, perSegment: single};
    let segments = 1, used = 0;
    for (const w of weights) {
      if (used + w > part) { segments += 1; used = 0; }
      used += w;
    }
    return {encoding, units, segments, perSegment: part};
  }

  function bind(doc) {
    doc.querySelectorAll("textarea[data-sms-counter]").forEach((area) => {
      const out = doc.getElementById(area.dataset.smsCounter);
      if (!out) return;
      const format = area.dataset.smsCounterFormat ||
        "{units} characters, {segments} SMS ({encoding}), {left} left in this SMS";
      const show = () => {
        const info = count(area.value);
        const left = info.perSegment * info.segments - info.units;
        out.textContent = format
          .replace("{units}", info.units).replace("{segments}", info.segments)
          .replace("{encoding}", info.encoding === "gsm7" ? "GSM-7" : "Unicode")
          .replace("{left}", Math.max(0, left));
        out.dataset.segments = String(info.segments);
        out.dataset.encoding = info.encoding;
      };
      area.addEventListener("input", show);
      show();
    });
  }

  if (typeof module !== "undefined" && module.exports) {
    module.exports = {count};
  }
  if (root.document) {
    if (root.document.readyState === "loading") {
      root.document.addEventListener("DOMContentLoaded", () => bind(root.document));
    } else {
      bind(root.document);
    }
  }
})(typeof window !== "undefined" ? window : globalThis);
