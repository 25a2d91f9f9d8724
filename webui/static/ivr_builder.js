// The IVR builder (webui/templates/ivrs/form.html, webui/ivrs.py): a card per node of the
// tree with its settings as form fields and its exits as selects naming other nodes, pickers
// for the tenant's prompts, extensions, queues and contact fields. Plain DOM, no library; no
// inline script or style (strict CSP): the page hands its data over in data-config and its
// words (in the user's language) in data-texts.
//
// The tree being edited is the JSON object itself: every change edits it in place (keys keep
// their order, parameters the builder does not show are kept) and writes it back into the
// form's "tree" textarea, the advanced view, which is what the form posts; an edit of the
// textarea is read back into the builder. So builder and JSON always round-trip.
// Each change posts the draft to the server's check (the validator that saving runs, one
// validator for both) and shows every error on the node or field it concerns.
(function () {
  "use strict";
  var root = document.getElementById("ivr-builder");
  if (!root) return;
  var form = root.closest("form");
  var area = form.querySelector("textarea[name=tree]");
  if (!area) return;
  var cfg = JSON.parse(root.dataset.config);
  var T = JSON.parse(root.dataset.texts);
  var choices = cfg.choices;
  var readonly = !!cfg.readonly;
  var nameInput = form.querySelector("input[name=name]");
  var numberInput = form.querySelector("input[name=number]");
  var tokenInput = form.querySelector("input[name=csrf_token]");

  var KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"];
  var KINDS = ["extension", "agents", "queue", "number"];
  var PROMPTED = ["play", "menu", "get_digits", "record"];
  // the exits each type shows, in order (voxcast.ivr.tree.TARGET_PARAMS; a transfer's
  // "next" is never taken by the runner, so it is kept but not offered)
  var EXITS = {
    play: ["next"], say: ["next"], get_digits: ["next"], record: ["next"],
    set_field: ["next"], set_result: ["next"], opt_out: ["next"],
    menu: ["no_input", "invalid"], branch: ["default"], transfer: ["failed"], hangup: []
  };

  var tree = null;           // the tree being edited
  var uids = Object.create(null);  // node id -> a number naming its elements across renames
  var nextUid = 1;
  var problems = {errors: [], nodes: {}, fields: {}};
  var checkSeq = 0;
  var checkTimer = null;
  var nameTouched = false;

  // -- small helpers ------------------------------------------------------------------------
  function fmt(text, values) {
    return String(text).replace(/%\((\w+)\)s/g, function (_, name) {
      return values && values[name] !== undefined ? values[name] : "";
    });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === undefined || value === null || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (value === true) node.setAttribute(key, "");
      else node.setAttribute(key, value);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  // -- JSON with its key order ----------------------------------------------------------------
  // JavaScript lists an object's integer-like keys ("0", "1", "10") first, whatever their
  // order in the text, so menu keys, branch cases and node names such as "2" would come back
  // reordered. The tree is parsed here keeping each object's key order (in `order`), and
  // written in that order (keys added later at the end, as Python's json does).
  var order = new WeakMap();

  function has(obj, key) {
    return Object.prototype.hasOwnProperty.call(obj, key);
  }

  function put(obj, key, value) {
    Object.defineProperty(obj, key, {value: value, writable: true, enumerable: true,
                                     configurable: true});
  }

  function keysOf(obj) {
    var present = Object.keys(obj);
    var recorded = order.get(obj);
    if (!recorded) return present;
    var out = recorded.filter(function (k) { return has(obj, k); });
    present.forEach(function (k) { if (out.indexOf(k) < 0) out.push(k); });
    return out;
  }

  function addKey(obj, key, value) {
    var keys = keysOf(obj);
    put(obj, key, value);
    if (keys.indexOf(key) < 0) keys.push(key);
    order.set(obj, keys);
  }

  function parseOrdered(text) {
    var i = 0;
    function fail() { throw new SyntaxError("not JSON at " + i); }
    function ws() { while (i < text.length && " \t\n\r".indexOf(text[i]) >= 0) i++; }
    function string() {
      var start = i++;
      while (i < text.length) {
        if (text[i] === "\\") i += 2;
        else if (text[i] === '"') return JSON.parse(text.slice(start, ++i));
        else i++;
      }
      return fail();
    }
    function value() {
      ws();
      var c = text[i];
      if (c === "{") {
        var obj = {}, keys = [];
        i++;
        ws();
        if (text[i] === "}") { i++; order.set(obj, keys); return obj; }
        for (;;) {
          ws();
          if (text[i] !== '"') fail();
          var key = string();
          ws();
          if (text[i++] !== ":") fail();
          put(obj, key, value());
          if (keys.indexOf(key) < 0) keys.push(key);
          ws();
          if (text[i] === ",") { i++; continue; }
          if (text[i++] === "}") break;
          fail();
        }
        order.set(obj, keys);
        return obj;
      }
      if (c === "[") {
        var arr = [];
        i++;
        ws();
        if (text[i] === "]") { i++; return arr; }
        for (;;) {
          arr.push(value());
          ws();
          if (text[i] === ",") { i++; continue; }
          if (text[i++] === "]") break;
          fail();
        }
        return arr;
      }
      if (c === '"') return string();
      var m = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)/
        .exec(text.slice(i, i + 400));
      if (!m) fail();
      i += m[0].length;
      return JSON.parse(m[0]);
    }
    var result = value();
    ws();
    if (i < text.length) fail();
    return result;
  }

  // as JSON.stringify(value, null, 2) (and Python's json.dumps(indent=2)), in key order
  function stringify(value, pad) {
    pad = pad || "";
    var inner = pad + "  ";
    if (Array.isArray(value)) {
      if (!value.length) return "[]";
      return "[\n" + value.map(function (v) { return inner + stringify(v, inner); }).join(",\n") +
        "\n" + pad + "]";
    }
    if (isObject(value)) {
      var keys = keysOf(value).filter(function (k) { return value[k] !== undefined; });
      if (!keys.length) return "{}";
      return "{\n" + keys.map(function (k) {
        return inner + JSON.stringify(k) + ": " + stringify(value[k], inner);
      }).join(",\n") + "\n" + pad + "}";
    }
    return JSON.stringify(value);
  }

  function uid(nodeId) {
    if (!uids[nodeId]) uids[nodeId] = nextUid++;
    return uids[nodeId];
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function nodes() {
    return tree.nodes;
  }

  function nodeIds() {
    return keysOf(tree.nodes);
  }

  function typeLabel(type) {
    return T.types[type] || String(type);
  }

  // a parameter: undefined removes it, an existing key keeps its place
  function setParam(node, key, value) {
    if (value === undefined) delete node[key];
    else node[key] = value;
  }

  // an object with one key renamed, the others in their order
  function renameKey(obj, from, to) {
    var out = {};
    var keys = keysOf(obj).map(function (key) { return key === from ? to : key; });
    keys.forEach(function (key) { put(out, key, key === to ? obj[from] : obj[key]); });
    order.set(out, keys);
    return out;
  }

  function variables() {
    var out = [];
    nodeIds().forEach(function (id) {
      var node = nodes()[id];
      if (isObject(node) && node.type === "get_digits" && typeof node.var === "string" && node.var &&
          out.indexOf(node.var) < 0) out.push(node.var);
    });
    return out;
  }

  // -- the tree and the textarea ----------------------------------------------------------
  var notice = el("p", {className: "flash error ivr-notice", id: "ivr-json-notice", hidden: true});

  function parse(text) {
    try {
      var value = parseOrdered(text);
      if (isObject(value) && isObject(value.nodes)) return value;
    } catch (e) { /* not JSON */ }
    return null;
  }

  function write() {
    area.value = stringify(tree);
  }

  var retypedFrom = null;  // the node as it was before its type was changed, while it is

  function changed() {
    retypedFrom = null;
    write();
    notice.hidden = true;
    scheduleCheck();
  }

  // -- form fields --------------------------------------------------------------------------
  function fieldId(nodeId, key) {
    return "ivr-n" + uid(nodeId) + "-" + key;
  }

  function labelled(id, label, control, hint) {
    var hintEl = null;
    if (hint) {
      hintEl = el("small", {id: id + "-hint", text: hint});
      control.setAttribute("aria-describedby", id + "-hint");
    }
    return el("label", {className: "field", "for": id}, [el("span", {text: label}), control, hintEl]);
  }

  function textInput(nodeId, key, label, value, onInput, opts) {
    opts = opts || {};
    var id = fieldId(nodeId, key);
    var input = opts.multiline
      ? el("textarea", {id: id, rows: "2"})
      : el("input", {id: id, type: opts.type || "text", min: opts.min, max: opts.max,
                     inputmode: opts.inputmode, autocomplete: "off"});
    input.value = value === undefined || value === null ? "" : String(value);
    input.addEventListener("input", function () { onInput(input.value, input); });
    if (opts.onChange) input.addEventListener("change", function () { opts.onChange(input.value, input); });
    return labelled(id, label, input, opts.hint);
  }

  function select(id, options, value) {
    var s = el("select", {id: id});
    var found = false;
    options.forEach(function (o) {
      var opt = el("option", {value: o[0], text: o[1]});
      if (String(o[0]) === String(value)) { opt.selected = true; found = true; }
      s.appendChild(opt);
    });
    if (!found && options.length) s.options[0].selected = true;
    return s;
  }

  function selectField(nodeId, key, label, options, value, onChange, hint) {
    var id = fieldId(nodeId, key);
    var s = select(id, options, value);
    s.addEventListener("change", function () { onChange(s.value, s); });
    return labelled(id, label, s, hint);
  }

  function numberField(nodeId, node, key, label, min, max) {
    return textInput(nodeId, key, label, node[key], function (value) {
      if (value === "") setParam(node, key, undefined);
      else {
        var n = Number(value);
        setParam(node, key, Number.isInteger(n) ? n : value);
      }
      changed();
    }, {type: "number", min: String(min), max: String(max), inputmode: "numeric"});
  }

  // the nodes an exit may lead to; the empty choice hangs up (or, for a required exit, asks)
  function targetOptions(current, emptyLabel) {
    var out = [["", emptyLabel]];
    nodeIds().forEach(function (id) {
      var node = nodes()[id];
      out.push([id, id + " · " + typeLabel(isObject(node) ? node.type : "")]);
    });
    if (current !== undefined && current !== "" && !has(nodes(), current)) {
      out.push([current, fmt(T.missing, {id: current})]);
    }
    return out;
  }

  function exitField(nodeId, node, key) {
    var empty = key === "default" ? T.choose : T.hang_up;
    return selectField(nodeId, "exit-" + key, T[key] || key, targetOptions(node[key], empty),
                       node[key] === undefined ? "" : node[key], function (value) {
                         setParam(node, key, value === "" ? undefined : value);
                         changed();
                       });
  }

  // a text with the fields it may use: a picker and a button insert {field} at the cursor
  function textWithFields(nodeId, node, key, label, optional) {
    var wrap = el("div", {className: "ivr-text"});
    var box = textInput(nodeId, key, label, node[key], function (value) {
      setParam(node, key, optional && value === "" ? undefined : value);
      changed();
    }, {multiline: true});
    wrap.appendChild(box);
    var area_ = box.querySelector("textarea");
    var names = choices.fields.concat(variables().filter(function (v) {
      return choices.fields.indexOf(v) < 0;
    }));
    var pickId = fieldId(nodeId, key + "-insert");
    var pick = select(pickId, names.map(function (n) { return [n, "{" + n + "}"]; }), names[0]);
    var button = el("button", {type: "button", className: "small", text: T.insert_button,
                               "aria-label": T.insert + ": " + label});
    button.addEventListener("click", function () {
      var text = "{" + pick.value + "}";
      var at = area_.selectionStart === undefined ? area_.value.length : area_.selectionStart;
      var end = area_.selectionEnd === undefined ? at : area_.selectionEnd;
      area_.value = area_.value.slice(0, at) + text + area_.value.slice(end);
      area_.focus();
      area_.setSelectionRange(at + text.length, at + text.length);
      setParam(node, key, area_.value);
      changed();
    });
    wrap.appendChild(el("div", {className: "ivr-insert"}, [
      el("label", {"for": pickId, text: T.insert}), pick, button
    ]));
    return wrap;
  }

  function promptOf(node) {
    if ("sound" in node) return "sound";
    if ("text" in node) return "text";
    return "none";
  }

  function promptFields(nodeId, node, optional) {
    var box = el("div", {className: "ivr-prompt"});
    var mode = promptOf(node);
    var modes = [["text", T.prompt_text], ["sound", T.prompt_sound]];
    if (optional) modes.unshift(["none", T.prompt_none]);
    box.appendChild(selectField(nodeId, "prompt", T.prompt, modes, mode, function (value) {
      delete node.text;
      delete node.sound;
      if (value === "text") node.text = "";
      else if (value === "sound") node.sound = choices.prompts.length ? choices.prompts[0].sound : "";
      changed();
      render(fieldId(nodeId, "prompt"));
    }));
    if (mode === "text") box.appendChild(textWithFields(nodeId, node, "text", T.text, false));
    else if (mode === "sound") box.appendChild(soundField(nodeId, node));
    return box;
  }

  function soundField(nodeId, node) {
    var options = choices.prompts.map(function (p) {
      return [p.sound, p.name + " (" + p.seconds + " s)"];
    });
    var known = choices.prompts.some(function (p) { return p.sound === node.sound; });
    if (!known) options.unshift([node.sound || "", node.sound || T.choose]);
    var wrap = el("div", {className: "ivr-sound"});
    var audio = el("audio", {controls: true, preload: "none", className: "ivr-listen"});
    function preview(sound) {
      var p = choices.prompts.filter(function (x) { return x.sound === sound; })[0];
      audio.hidden = !p;
      if (p) {
        audio.src = cfg.audio.replace("{id}", p.id);
        audio.setAttribute("aria-label", fmt(T.listen, {name: p.name}));
      } else audio.removeAttribute("src");
    }
    wrap.appendChild(selectField(nodeId, "sound", T.sound, options, node.sound, function (value) {
      node.sound = value;
      preview(value);
      changed();
    }, choices.prompts.length ? null : T.no_prompts));
    preview(node.sound);
    wrap.appendChild(audio);
    if (!choices.prompts.length && cfg.library) {
      wrap.appendChild(el("p", {className: "hint"}, [el("a", {href: cfg.library, text: T.library})]));
    }
    return wrap;
  }

  // -- node types -----------------------------------------------------------------------------
  function menuOptions(nodeId, node) {
    var set = el("fieldset", {className: "ivr-rows"}, [el("legend", {text: T.keys})]);
    if (!isObject(node.options)) node.options = {};
    var keys = keysOf(node.options);
    keys.forEach(function (key, i) {
      var free = KEYS.filter(function (k) { return k === key || keys.indexOf(k) < 0; });
      if (free.indexOf(key) < 0) free.unshift(key);
      var keyId = fieldId(nodeId, "key" + i);
      var keySel = select(keyId, free.map(function (k) { return [k, k]; }), key);
      keySel.addEventListener("change", function () {
        node.options = renameKey(node.options, key, keySel.value);
        changed();
        render(keyId);
      });
      var targetId = fieldId(nodeId, "key" + i + "-to");
      var target = select(targetId, targetOptions(node.options[key], T.choose), node.options[key]);
      target.addEventListener("change", function () {
        node.options[key] = target.value;
        changed();
      });
      var remove = el("button", {type: "button", className: "small",
                                 text: "×", "aria-label": fmt(T.remove_key, {key: key})});
      remove.addEventListener("click", function () {
        delete node.options[key];
        changed();
        render(fieldId(nodeId, "add-key"));
      });
      set.appendChild(el("div", {className: "ivr-row"}, [
        el("label", {className: "field", "for": keyId}, [el("span", {text: T.key}), keySel]),
        el("label", {className: "field", "for": targetId}, [el("span", {text: T.goes_to}), target]),
        remove
      ]));
    });
    var unused = KEYS.filter(function (k) { return keys.indexOf(k) < 0; });
    var add = el("button", {type: "button", id: fieldId(nodeId, "add-key"), text: T.add_key,
                            disabled: !unused.length});
    add.addEventListener("click", function () {
      if (!unused.length) return;
      addKey(node.options, unused[0], "");
      changed();
      render(fieldId(nodeId, "key" + keys.length + "-to"));
    });
    set.appendChild(add);
    return set;
  }

  function branchCases(nodeId, node) {
    var set = el("fieldset", {className: "ivr-rows"}, [el("legend", {text: T.cases})]);
    if (!isObject(node.cases)) node.cases = {};
    var values = keysOf(node.cases);
    values.forEach(function (value, i) {
      var valueId = fieldId(nodeId, "case" + i);
      var input = el("input", {id: valueId, type: "text", autocomplete: "off"});
      input.value = value;
      var taken = el("em", {className: "error", id: valueId + "-taken", hidden: true,
                            text: T.case_taken, role: "alert"});
      input.addEventListener("change", function () {
        var to = input.value;
        if (to === value) return;
        if (has(node.cases, to)) {
          taken.hidden = false;
          input.value = value;
          return;
        }
        node.cases = renameKey(node.cases, value, to);
        changed();
        render(valueId);
      });
      var targetId = fieldId(nodeId, "case" + i + "-to");
      var target = select(targetId, targetOptions(node.cases[value], T.choose), node.cases[value]);
      target.addEventListener("change", function () {
        node.cases[value] = target.value;
        changed();
      });
      var remove = el("button", {type: "button", className: "small", text: "×",
                                 "aria-label": fmt(T.remove_case, {value: value})});
      remove.addEventListener("click", function () {
        delete node.cases[value];
        changed();
        render(fieldId(nodeId, "add-case"));
      });
      set.appendChild(el("div", {className: "ivr-row"}, [
        el("label", {className: "field", "for": valueId}, [el("span", {text: T.case}), input, taken]),
        el("label", {className: "field", "for": targetId}, [el("span", {text: T.goes_to}), target]),
        remove
      ]));
    });
    var add = el("button", {type: "button", id: fieldId(nodeId, "add-case"), text: T.add_case});
    add.addEventListener("click", function () {
      var n = values.length + 1;
      while (has(node.cases, String(n))) n++;
      addKey(node.cases, String(n), "");
      changed();
      render(fieldId(nodeId, "case" + values.length));
    });
    set.appendChild(add);
    return set;
  }

  function extensionOptions(current) {
    var out = choices.extensions.map(function (e) {
      return [e.number, e.user ? e.number + " · " + e.user : e.number];
    });
    if (!choices.extensions.some(function (e) { return e.number === current; })) {
      out.unshift([current || "", current ? fmt(T.not_yours, {value: current})
        : (out.length ? T.choose : T.no_extensions)]);
    }
    return out;
  }

  function defaultValue(kind) {
    if (kind === "extension") return choices.extensions.length ? choices.extensions[0].number : "";
    if (kind === "agents") return [];
    if (kind === "queue") return choices.queues.length ? choices.queues[0].id : 0;
    return "";
  }

  function transferFields(nodeId, node) {
    var box = el("div", {className: "ivr-transfer"});
    if (!isObject(node.target)) node.target = {kind: "extension", value: defaultValue("extension")};
    var target = node.target;
    box.appendChild(selectField(nodeId, "kind", T.target_kind, KINDS.map(function (k) {
      return [k, T["kind_" + k]];
    }), target.kind, function (value) {
      target.kind = value;
      target.value = defaultValue(value);
      changed();
      render(fieldId(nodeId, "kind"));
    }));
    if (target.kind === "extension") {
      box.appendChild(selectField(nodeId, "extension", T.extension, extensionOptions(target.value),
                                  target.value, function (value) {
                                    target.value = value;
                                    changed();
                                  }, choices.extensions.length ? null : T.no_extensions));
    } else if (target.kind === "agents") {
      if (!Array.isArray(target.value)) target.value = [];
      var set = el("fieldset", {className: "ivr-checks"}, [el("legend", {text: T.agents})]);
      var listed = choices.extensions.map(function (e) { return e.number; });
      var all = choices.extensions.slice();
      target.value.forEach(function (v) {
        if (listed.indexOf(v) < 0) all.push({number: v, user: "", foreign: true});
      });
      all.forEach(function (e, i) {
        var id = fieldId(nodeId, "agent" + i);
        var box_ = el("input", {type: "checkbox", id: id, value: e.number});
        box_.checked = target.value.indexOf(e.number) >= 0;
        box_.addEventListener("change", function () {
          var at = target.value.indexOf(e.number);
          if (box_.checked && at < 0) target.value.push(e.number);
          if (!box_.checked && at >= 0) target.value.splice(at, 1);
          changed();
        });
        var text = e.foreign ? fmt(T.not_yours, {value: e.number})
          : (e.user ? e.number + " · " + e.user : e.number);
        set.appendChild(el("label", {className: "check", "for": id}, [box_, " " + text]));
      });
      if (!all.length) set.appendChild(el("p", {className: "hint", text: T.no_extensions}));
      box.appendChild(set);
    } else if (target.kind === "queue") {
      var queues = choices.queues.map(function (q) {
        return [String(q.id), q.number ? q.name + " (" + q.number + ")" : q.name];
      });
      if (!choices.queues.some(function (q) { return q.id === target.value; })) {
        queues.unshift([String(target.value), target.value ? fmt(T.not_yours, {value: target.value})
          : (queues.length ? T.choose : T.no_queues)]);
      }
      box.appendChild(selectField(nodeId, "queue", T.queue, queues, String(target.value),
                                  function (value) {
                                    target.value = Number(value);
                                    changed();
                                  }, T.queue_hint));
    } else {
      box.appendChild(textInput(nodeId, "number", T.number, target.value, function (value) {
        target.value = value;
        changed();
      }, {type: "tel", inputmode: "tel"}));
    }
    if (target.kind !== "queue") box.appendChild(numberField(nodeId, node, "ring", T.ring, 5, 120));
    return box;
  }

  function settings(nodeId, node) {
    var box = el("div", {className: "ivr-settings"});
    var type = node.type;
    if (type === "say") {
      box.appendChild(textWithFields(nodeId, node, "text", T.text, false));
    } else if (type === "play") {
      box.appendChild(promptFields(nodeId, node, false));
    } else if (type === "menu") {
      box.appendChild(promptFields(nodeId, node, false));
      box.appendChild(menuOptions(nodeId, node));
      box.appendChild(el("div", {className: "ivr-grid"}, [
        numberField(nodeId, node, "timeout", T.timeout, 1, 60),
        numberField(nodeId, node, "retries", T.retries, 0, 10),
        textInput(nodeId, "store_as", T.store_as, node.store_as, function (value) {
          setParam(node, "store_as", value === "" ? undefined : value);
          changed();
        })
      ]));
    } else if (type === "get_digits") {
      box.appendChild(promptFields(nodeId, node, false));
      box.appendChild(el("div", {className: "ivr-grid"}, [
        textInput(nodeId, "var", T.var, node.var, function (value) {
          node.var = value;
          changed();
        }, {hint: T.var_hint}),
        numberField(nodeId, node, "max_digits", T.max_digits, 1, 20),
        numberField(nodeId, node, "timeout", T.digits_timeout, 1, 60)
      ]));
    } else if (type === "branch") {
      var names = choices.fields.concat(variables().filter(function (v) {
        return choices.fields.indexOf(v) < 0;
      }));
      var opts = names.map(function (n) { return [n, n]; });
      if (node.var === undefined || names.indexOf(node.var) < 0) {
        opts.unshift([node.var === undefined ? "" : node.var,
                      node.var ? fmt(T.missing, {id: node.var}) : T.choose]);
      }
      box.appendChild(selectField(nodeId, "var", T.branch_var, opts, node.var, function (value) {
        setParam(node, "var", value === "" ? undefined : value);
        changed();
      }));
      box.appendChild(branchCases(nodeId, node));
    } else if (type === "transfer") {
      box.appendChild(transferFields(nodeId, node));
    } else if (type === "record") {
      box.appendChild(promptFields(nodeId, node, true));
      var beepId = fieldId(nodeId, "beep");
      var beep = el("input", {type: "checkbox", id: beepId});
      beep.checked = node.beep !== false;
      beep.addEventListener("change", function () {
        node.beep = beep.checked;
        changed();
      });
      box.appendChild(el("div", {className: "ivr-grid"}, [
        numberField(nodeId, node, "max_seconds", T.max_seconds, 1, 600),
        el("label", {className: "check", "for": beepId}, [beep, " " + T.beep])
      ]));
    } else if (type === "set_field") {
      var fields = choices.settable.map(function (f) { return [f, f]; });
      if (choices.settable.indexOf(node.field) < 0) {
        fields.unshift([node.field || "", node.field ? fmt(T.missing, {id: node.field}) : T.choose]);
      }
      box.appendChild(selectField(nodeId, "field", T.field, fields, node.field, function (value) {
        setParam(node, "field", value === "" ? undefined : value);
        changed();
      }));
      box.appendChild(textWithFields(nodeId, node, "value", T.value, false));
    } else if (type === "set_result") {
      box.appendChild(textInput(nodeId, "result", T.result, node.result, function (value) {
        node.result = value;
        changed();
      }, {hint: T.result_hint}));
    } else if (type === "opt_out") {
      box.appendChild(el("p", {className: "hint", text: T.opt_out_hint}));
    } else if (type === "hangup") {
      box.appendChild(textWithFields(nodeId, node, "text", T.goodbye, true));
    }
    return box;
  }

  // a node of a new type: its settings start empty (the check says what is missing); a
  // prompt and the "next" exit are carried over where both types have them
  function retyped(old, type) {
    var node = {type: type};
    if (type === "say") node.text = typeof old.text === "string" ? old.text : "";
    else if (type === "play" || type === "menu" || type === "get_digits") {
      if ("sound" in old) node.sound = old.sound;
      else node.text = typeof old.text === "string" ? old.text : "";
    } else if (type === "record" || type === "hangup") {
      if (typeof old.text === "string" && old.text) node.text = old.text;
      else if ("sound" in old && type === "record") node.sound = old.sound;
    }
    if (type === "menu") node.options = {};
    if (type === "get_digits") node.var = "digits";
    if (type === "branch") { node.var = ""; node.cases = {}; }
    if (type === "transfer") node.target = {kind: "extension", value: defaultValue("extension")};
    if (type === "set_field") { node.field = choices.settable[0]; node.value = ""; }
    if (type === "set_result") node.result = "";
    if (EXITS[type] && EXITS[type].indexOf("next") >= 0 && typeof old.next === "string") {
      node.next = old.next;
    }
    return node;
  }

  // -- structure: add, rename, delete ---------------------------------------------------------
  function freeId(base) {
    var id = base, n = 2;
    while (has(nodes(), id)) id = base + n++;
    return id;
  }

  function forEachExit(fn) {
    nodeIds().forEach(function (id) {
      var node = nodes()[id];
      if (!isObject(node)) return;
      ["next", "no_input", "invalid", "failed", "default"].forEach(function (key) {
        if (typeof node[key] === "string") fn(node, key, node[key], null);
      });
      ["options", "cases"].forEach(function (key) {
        if (isObject(node[key])) {
          keysOf(node[key]).forEach(function (k) { fn(node[key], k, node[key][k], key); });
        }
      });
    });
  }

  function rename(from, to) {
    tree.nodes = renameKey(tree.nodes, from, to);
    uids[to] = uids[from];
    delete uids[from];
    forEachExit(function (holder, key, target) {
      if (target === from) holder[key] = to;
    });
    if (tree.start === from) tree.start = to;
  }

  function removeNode(id) {
    delete tree.nodes[id];
    forEachExit(function (holder, key, target, group) {
      if (target === id) delete holder[key];
    });
    if (tree.start === id) tree.start = nodeIds()[0] || "";
  }

  // -- rendering ------------------------------------------------------------------------------
  var live = el("p", {className: "ivr-live", id: "ivr-live", role: "status", "aria-live": "polite"});
  var generalErrors = el("ul", {className: "ivr-general error", id: "ivr-general-errors"});
  var body = el("div", {className: "ivr-body"});
  var frame = el("fieldset", {className: "ivr-frame", disabled: readonly},
                 [el("legend", {text: T.builder}), body]);

  function card(nodeId) {
    var node = nodes()[nodeId];
    var u = uid(nodeId);
    var titleId = "ivr-n" + u + "-title";
    var section = el("section", {className: "ivr-node", id: "ivr-node-" + u,
                                 "data-node": nodeId, "aria-labelledby": titleId});
    var heading = el("h3", {id: titleId, tabindex: "-1"}, [
      el("span", {className: "ivr-node-id", text: nodeId}), " · ",
      el("span", {className: "ivr-node-type", text: typeLabel(isObject(node) ? node.type : "")}),
      tree.start === nodeId ? el("span", {className: "badge ivr-start", text: T.is_start}) : null,
      el("span", {className: "badge ivr-count", id: "ivr-n" + u + "-count", hidden: true})
    ]);
    section.appendChild(heading);
    section.appendChild(el("ul", {className: "ivr-errors error", id: "ivr-n" + u + "-errors",
                                  hidden: true}));
    var head = el("div", {className: "ivr-grid"});
    var taken = el("em", {className: "error", id: fieldId(nodeId, "id") + "-taken", hidden: true,
                          role: "alert"});
    var idBox = textInput(nodeId, "id", T.id, nodeId, function () { taken.hidden = true; }, {
      hint: T.id_hint,
      onChange: function (value, input) {
        var to = value.trim();
        if (to === nodeId) return;
        if (!to || has(nodes(), to)) {
          taken.textContent = to ? T.id_taken : T.id_empty;
          taken.hidden = false;
          input.value = nodeId;
          return;
        }
        rename(nodeId, to);
        changed();
        render(fieldId(to, "id"));
      }
    });
    idBox.appendChild(taken);
    head.appendChild(idBox);
    if (!isObject(node)) {
      section.appendChild(head);
      section.appendChild(el("p", {className: "hint", text: T.not_object}));
      return section;
    }
    var types = cfg.types.map(function (t) { return [t, typeLabel(t)]; });
    if (cfg.types.indexOf(node.type) < 0) types.unshift([String(node.type), String(node.type)]);
    head.appendChild(selectField(nodeId, "type", T.type, types, node.type, function (value) {
      // arrowing through the types (a select changes on each key) builds each from the node
      // as it was before, and coming back to its type gives it back whole
      var original = retypedFrom && retypedFrom.uid === u ? retypedFrom.node : node;
      tree.nodes[nodeId] = value === original.type ? original : retyped(original, value);
      changed();
      retypedFrom = {uid: u, node: original};
      render(fieldId(nodeId, "type"));
    }));
    section.appendChild(head);
    if (cfg.types.indexOf(node.type) < 0) {
      section.appendChild(el("p", {className: "hint", text: fmt(T.unknown_type, {type: node.type})}));
      return section;
    }
    section.appendChild(settings(nodeId, node));
    var exits = EXITS[node.type] || [];
    if (exits.length) {
      section.appendChild(el("fieldset", {className: "ivr-exits"},
                             [el("legend", {text: T.exits})].concat(exits.map(function (key) {
                               return exitField(nodeId, node, key);
                             }))));
    }
    if (!readonly) {
      var del = el("button", {type: "button", className: "danger small", id: fieldId(nodeId, "delete"),
                              text: fmt(T.delete, {id: nodeId})});
      del.addEventListener("click", function () {
        var ids = nodeIds();
        if (ids.length <= 1) {
          announce(T.delete_last);
          return;
        }
        var after = ids[ids.indexOf(nodeId) + 1] || ids[ids.indexOf(nodeId) - 1];
        removeNode(nodeId);
        changed();
        render("ivr-n" + uid(after) + "-title");
        announce(fmt(T.deleted, {id: nodeId}));
      });
      section.appendChild(el("p", {className: "ivr-node-actions"}, [del]));
    }
    return section;
  }

  function startPicker() {
    var opts = nodeIds().map(function (id) {
      var node = nodes()[id];
      return [id, id + " · " + typeLabel(isObject(node) ? node.type : "")];
    });
    if (tree.start !== undefined && !has(nodes(), tree.start)) {
      opts.unshift([tree.start || "", tree.start ? fmt(T.missing, {id: tree.start}) : T.choose]);
    }
    var s = select("ivr-start", opts, tree.start);
    s.addEventListener("change", function () {
      tree.start = s.value;
      changed();
      render("ivr-start");
    });
    return el("label", {className: "field ivr-start-field", "for": "ivr-start"},
              [el("span", {text: T.start}), s]);
  }

  function adder() {
    var s = select("ivr-add-type", cfg.types.map(function (t) { return [t, typeLabel(t)]; }), "say");
    var button = el("button", {type: "button", id: "ivr-add", text: T.add});
    button.addEventListener("click", function () {
      var type = s.value;
      var id = freeId(type.replace("_", "-"));
      addKey(tree.nodes, id, retyped({}, type));
      if (typeof tree.start !== "string" || !has(nodes(), tree.start)) tree.start = id;
      changed();
      render("ivr-n" + uid(id) + "-title");
      announce(fmt(T.added, {id: id}));
    });
    return el("div", {className: "ivr-add inline-form"}, [
      el("label", {className: "field", "for": "ivr-add-type"}, [el("span", {text: T.add_type}), s]),
      button
    ]);
  }

  function announce(text) {
    live.textContent = text;
  }

  function render(focusId) {
    body.textContent = "";
    body.appendChild(startPicker());
    body.appendChild(generalErrors);
    if (!nodeIds().length) body.appendChild(el("p", {className: "empty", text: T.no_nodes}));
    var list = el("div", {className: "ivr-nodes"});
    nodeIds().forEach(function (id) { list.appendChild(card(id)); });
    body.appendChild(list);
    if (!readonly) body.appendChild(adder());
    showProblems();
    if (focusId) {
      var target = document.getElementById(focusId);
      if (target) target.focus();
    }
  }

  // -- the server's check ---------------------------------------------------------------------
  function fieldError(input, messages) {
    if (!input) return;
    var id = input.name + "-live-errors";
    var box = document.getElementById(id);
    if (!box) {
      box = el("em", {className: "error", id: id});
      input.parentNode.appendChild(box);
    }
    box.textContent = (messages || []).join("; ");
    box.hidden = !box.textContent;
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (x) {
      return x && x !== id;
    });
    if (!box.hidden) described.push(id);
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    else input.removeAttribute("aria-describedby");
    input.setAttribute("aria-invalid", box.hidden ? "false" : "true");
  }

  function showProblems() {
    generalErrors.textContent = "";
    (problems.errors || []).forEach(function (e) { generalErrors.appendChild(el("li", {text: e})); });
    generalErrors.hidden = !(problems.errors || []).length;
    nodeIds().forEach(function (id) {
      var u = uid(id);
      var list = document.getElementById("ivr-n" + u + "-errors");
      var count = document.getElementById("ivr-n" + u + "-count");
      var section = document.getElementById("ivr-node-" + u);
      if (!list) return;
      var messages = (problems.nodes || {})[id] || [];
      list.textContent = "";
      messages.forEach(function (m) { list.appendChild(el("li", {text: m})); });
      list.hidden = !messages.length;
      count.hidden = !messages.length;
      count.textContent = fmt(T.node_problems, {count: messages.length});
      section.classList.toggle("has-errors", messages.length > 0);
      if (messages.length) section.setAttribute("aria-describedby", list.id);
      else section.removeAttribute("aria-describedby");
    });
    fieldError(nameInput, (problems.fields || {}).name);
    fieldError(numberInput, (problems.fields || {}).number);
  }

  function scheduleCheck() {
    if (readonly || !cfg.check) return;
    if (checkTimer) clearTimeout(checkTimer);
    ++checkSeq;  // an answer still on its way is about an older draft
    root.setAttribute("aria-busy", "true");
    root.dataset.checked = "";
    checkTimer = setTimeout(check, 350);
  }

  function check() {
    checkTimer = null;
    var seq = ++checkSeq;
    var draft = parse(area.value) ? tree : area.value;
    fetch(cfg.check, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json",
                "X-CSRFToken": tokenInput ? tokenInput.value : ""},
      // an empty name is reported once the user has been at it, not on a fresh page
      body: JSON.stringify({tree: draft,
                            name: nameInput && (nameInput.value || nameTouched) ? nameInput.value
                              : undefined,
                            number: numberInput ? numberInput.value : undefined})
    }).then(function (res) {
      if (!res.ok) throw new Error(String(res.status));
      return res.json();
    }).then(function (result) {
      if (seq !== checkSeq) return;  // a newer draft is being checked
      problems = result;
      showProblems();
      var count = (result.errors || []).length + Object.keys(result.fields || {}).reduce(
        function (n, k) { return n + result.fields[k].length; }, 0) +
        Object.keys(result.nodes || {}).reduce(function (n, k) { return n + result.nodes[k].length; }, 0);
      announce(result.ok ? T.ok : fmt(T.problems, {count: count}));
      root.dataset.checked = result.ok ? "ok" : "problems";
    }).catch(function () {
      if (seq !== checkSeq) return;
      announce(T.check_failed);
      root.dataset.checked = "failed";
    }).then(function () {
      if (seq === checkSeq) root.removeAttribute("aria-busy");
    });
  }

  // -- start ----------------------------------------------------------------------------------
  tree = parse(area.value);
  if (!tree) {
    tree = {start: "", nodes: {}};
    if (area.value.trim() && area.value.trim() !== "{}") {
      notice.textContent = T.bad_json;
      notice.hidden = false;
    }
  }
  root.appendChild(notice);
  root.appendChild(live);
  root.appendChild(frame);
  root.hidden = false;
  if (parse(area.value)) write();  // the builder's own serialisation of the tree it shows
  render();
  if (readonly) announce(T.readonly);
  document.getElementById("ivr-advanced").open = false;

  // Enter in a field of the builder commits it (a rename, a case value) instead of
  // submitting the whole form
  root.addEventListener("keydown", function (event) {
    var t = event.target;
    if (event.key === "Enter" && t.tagName === "INPUT" && t.type !== "checkbox") {
      event.preventDefault();
      t.dispatchEvent(new Event("change", {bubbles: true}));
    }
  });

  area.addEventListener("input", function () {
    var value = parse(area.value);
    if (value) {
      tree = value;
      notice.hidden = true;
      render();
    } else {
      notice.textContent = T.bad_json;
      notice.hidden = false;
    }
    scheduleCheck();
  });
  [nameInput, numberInput].forEach(function (input) {
    if (input) {
      input.addEventListener("input", function () {
        if (input === nameInput) nameTouched = true;
        scheduleCheck();
      });
    }
  });
  scheduleCheck();
})();
