// The audio library's microphone recorder (webui/templates/prompts/index.html).
// MediaRecorder records (WebM/Opus in Chromium, which sox does not read), the browser decodes
// the recording (Web Audio) and it is sent as a 16-bit mono WAV with fetch, carrying the
// page's CSRF token; the server converts it like any upload. Preview plays from a blob: URL
// (CSP media-src 'self' blob:). The section stays hidden where recording is impossible.
(function () {
  "use strict";
  var root = document.getElementById("prompt-recorder");
  if (!root || !window.MediaRecorder) {
    return;
  }
  root.hidden = false;
  if (!window.isSecureContext || !navigator.mediaDevices ||
      !navigator.mediaDevices.getUserMedia) {
    // browsers give the microphone only to HTTPS pages (and localhost)
    document.getElementById("record-status").textContent = root.dataset.insecure || "";
    document.getElementById("record-start").disabled = true;
    return;
  }
  var startBtn = document.getElementById("record-start");
  var stopBtn = document.getElementById("record-stop");
  var saveBtn = document.getElementById("record-save");
  var preview = document.getElementById("record-preview");
  var status = document.getElementById("record-status");
  var nameInput = document.getElementById("record-name");
  var tokenInput = root.querySelector("input[name=csrf_token]");
  var recorder = null, stream = null, chunks = [], wav = null, previewUrl = null;

  function say(key, extra) {
    status.textContent = (root.dataset[key] || "") + (extra ? " " + extra : "");
  }

  function encodeWav(buffer) {
    var rate = buffer.sampleRate, length = buffer.length, channels = buffer.numberOfChannels;
    var data = new DataView(new ArrayBuffer(44 + length * 2));
    function text(offset, s) {
      for (var i = 0; i < s.length; i++) { data.setUint8(offset + i, s.charCodeAt(i)); }
    }
    text(0, "RIFF"); data.setUint32(4, 36 + length * 2, true); text(8, "WAVE");
    text(12, "fmt "); data.setUint32(16, 16, true); data.setUint16(20, 1, true);
    data.setUint16(22, 1, true); data.setUint32(24, rate, true);
    data.setUint32(28, rate * 2, true); data.setUint16(32, 2, true);
    data.setUint16(34, 16, true); text(36, "data"); data.setUint32(40, length * 2, true);
    var inputs = [];
    for (var c = 0; c < channels; c++) { inputs.push(buffer.getChannelData(c)); }
    for (var i = 0; i < length; i++) {
      var sum = 0;
      for (c = 0; c < channels; c++) { sum += inputs[c][i]; }
      var v = Math.max(-1, Math.min(1, sum / channels));
      data.setInt16(44 + i * 2, v < 0 ? v * 0x8000 : v * 0x7fff, true);
    }
    return new Blob([data.buffer], {type: "audio/wav"});
  }

  function toWav(blob) {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    var ctx = new Ctx();
    return blob.arrayBuffer().then(function (bytes) {
      return ctx.decodeAudioData(bytes);
    }).then(function (buffer) {
      ctx.close();
      return encodeWav(buffer);
    });
  }

  startBtn.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({audio: true}).then(function (s) {
      stream = s;
      chunks = [];
      wav = null;
      saveBtn.disabled = true;
      recorder = new MediaRecorder(stream);
      recorder.addEventListener("dataavailable", function (e) {
        if (e.data && e.data.size) { chunks.push(e.data); }
      });
      recorder.addEventListener("stop", function () {
        stream.getTracks().forEach(function (t) { t.stop(); });
        toWav(new Blob(chunks, {type: recorder.mimeType})).then(function (result) {
          wav = result;
          if (previewUrl) { URL.revokeObjectURL(previewUrl); }
          previewUrl = URL.createObjectURL(wav);
          preview.src = previewUrl;
          preview.hidden = false;
          saveBtn.disabled = false;
          say("recorded");
        }).catch(function (err) { say("failed", String(err)); });
      });
      recorder.start();
      startBtn.disabled = true;
      stopBtn.disabled = false;
      say("recording");
    }).catch(function () { say("denied"); });
  });

  stopBtn.addEventListener("click", function () {
    if (recorder && recorder.state !== "inactive") { recorder.stop(); }
    stopBtn.disabled = true;
    startBtn.disabled = false;
  });

  saveBtn.addEventListener("click", function () {
    if (!wav) { return; }
    var body = new FormData();
    body.append("csrf_token", tokenInput.value);
    body.append("name", nameInput.value);
    body.append("audio", wav, "recording.wav");
    saveBtn.disabled = true;
    say("saving");
    fetch(root.dataset.url, {method: "POST", body: body, credentials: "same-origin",
                             headers: {"X-CSRFToken": tokenInput.value}})
      .then(function (resp) {
        return resp.json().catch(function () { return {}; }).then(function (json) {
          if (resp.ok && json.next) {
            window.location.assign(json.next);
          } else {
            saveBtn.disabled = false;
            say("failed", json.error || String(resp.status));
          }
        });
      })
      .catch(function (err) { saveBtn.disabled = false; say("failed", String(err)); });
  });
}());
