// Pitlane panel: the few live parts of otherwise server-rendered pages. Every feature
// here is progressive: the pages work without it (forms post, links navigate), this
// only adds polling, confirmation prompts, the browser wallet and cell toggling.
"use strict";

(function () {
  function csrf(el) {
    var holder = el.closest("[data-csrf]") || document.querySelector("[data-csrf]");
    return holder ? holder.getAttribute("data-csrf") : "";
  }

  function postJson(url, token, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", "x-csrf-token": token },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.error || "Request failed (" + r.status + ")");
        return data;
      });
    });
  }

  function getJson(url) {
    return fetch(url, { credentials: "same-origin", headers: { accept: "application/json" } }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) throw new Error(data.error || "Request failed (" + r.status + ")");
        return data;
      });
    });
  }

  // Forms that delete something ask first.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) e.preventDefault();
  });

  // Copy buttons.
  document.querySelectorAll("[data-action=copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-target"));
      if (!input) return;
      input.select();
      var done = function () { button.textContent = "Copied"; };
      if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(done, function () {});
      else if (document.execCommand("copy")) done();
    });
  });

  // Browser wallet: login and linking, with personal_sign over a server challenge.
  function toHex(text) {
    var bytes = new TextEncoder().encode(text);
    var out = "0x";
    for (var i = 0; i < bytes.length; i++) out += bytes[i].toString(16).padStart(2, "0");
    return out;
  }

  function walletFlow(section, challengeUrl, submitUrl, extra) {
    var status = section.querySelector(".wallet-status");
    var button = section.querySelector("button");
    var token = section.getAttribute("data-csrf") || csrf(section);
    button.addEventListener("click", function () {
      button.disabled = true;
      status.textContent = "Waiting for the wallet…";
      var address;
      window.ethereum.request({ method: "eth_requestAccounts" })
        .then(function (accounts) {
          address = accounts[0];
          return postJson(challengeUrl, token, { address: address });
        })
        .then(function (challenge) {
          status.textContent = "Sign the message in your wallet…";
          return window.ethereum
            .request({ method: "personal_sign", params: [toHex(challenge.message), address] })
            .then(function (signature) {
              var body = { state: challenge.state, signature: signature };
              Object.keys(extra).forEach(function (k) { body[k] = extra[k]; });
              return postJson(submitUrl, token, body);
            });
        })
        .then(function (done) { window.location.assign(done.redirect); })
        .catch(function (err) {
          status.textContent = err && err.message ? err.message : "The wallet did not sign.";
          button.disabled = false;
        });
    });
  }

  // Setting a first password: the wallet signs the challenge shown on the page, the
  // signature goes into the form's paste field, and the form is sent as without script.
  function walletSign(box) {
    var form = box.closest("form");
    var wallet = box.getAttribute("data-wallet-sign");
    var status = box.querySelector(".wallet-status");
    var button = box.querySelector("button");
    var signature = form.querySelector("[name=signature]");
    var message = form.querySelector("[name=message]").value;
    button.addEventListener("click", function () {
      // The other fields first, so the user does not sign for a form that is refused.
      var invalid = Array.prototype.filter.call(form.elements, function (el) {
        return el !== signature && el.willValidate && !el.checkValidity();
      });
      if (invalid.length) {
        invalid[0].reportValidity();
        return;
      }
      button.disabled = true;
      status.textContent = "Waiting for the wallet…";
      window.ethereum.request({ method: "eth_requestAccounts" })
        .then(function (accounts) {
          var ours = (accounts || []).some(function (a) { return String(a).toLowerCase() === wallet.toLowerCase(); });
          if (!ours) throw new Error("Choose this account's wallet " + wallet + " in your browser wallet.");
          status.textContent = "Sign the message in your wallet…";
          return window.ethereum.request({ method: "personal_sign", params: [toHex(message), wallet] });
        })
        .then(function (signed) {
          signature.value = signed;
          status.textContent = "Signed: setting the password…";
          if (form.requestSubmit) form.requestSubmit();
          else form.submit();
        })
        .catch(function (err) {
          status.textContent = err && err.message ? err.message : "The wallet did not sign.";
          button.disabled = false;
        });
    });
  }

  function setupWallet() {
    var sign = document.querySelector("[data-wallet-sign]");
    if (sign) {
      sign.hidden = false;
      walletSign(sign);
    }
    var login = document.querySelector("[data-wallet-login]");
    if (login) {
      login.hidden = false;
      walletFlow(login, "/panel/login/wallet/challenge", "/panel/login/wallet",
        { next: login.getAttribute("data-next") || "/panel/" });
    }
    var link = document.querySelector("[data-wallet-link]");
    if (link) {
      link.hidden = false;
      walletFlow(link, "/panel/account/wallet/challenge", "/panel/account/wallet", {});
    }
  }
  // Wallets inject window.ethereum before page scripts run, or announce a late injection
  // with the "ethereum#initialized" event (as MetaMask does).
  if (window.ethereum) setupWallet();
  else window.addEventListener("ethereum#initialized", setupWallet, { once: true });

  // Bulk decode progress: poll until done, then show the results.
  var bulk = document.querySelector("[data-bulk-progress]");
  if (bulk && bulk.getAttribute("data-finished") !== "true") {
    var bar = bulk.querySelector("progress");
    var text = document.getElementById("bulk-progress-text");
    var poll = function () {
      getJson(bulk.getAttribute("data-bulk-progress")).then(function (p) {
        bar.max = p.total;
        bar.value = p.done;
        text.textContent = p.text + (p.finished ? ": done." : "");
        if (p.finished) window.location.reload();
        else window.setTimeout(poll, 1000);
      }, function (err) {
        text.textContent = err.message + " (retrying)";
        window.setTimeout(poll, 3000);
      });
    };
    window.setTimeout(poll, 500);
  }

  // Geofence preview: cells toggle with click, Enter or Space; the form's list follows.
  var fenceForm = document.querySelector("[data-geofence-form]");
  if (fenceForm) {
    var list = fenceForm.querySelector("textarea[name=cells]");
    var sync = function () {
      var chosen = [];
      fenceForm.querySelectorAll("[data-cell]").forEach(function (c) {
        if (c.getAttribute("aria-checked") === "true") chosen.push(c.getAttribute("data-cell"));
      });
      list.value = chosen.join("\n");
    };
    var toggle = function (cell) {
      cell.setAttribute("aria-checked", cell.getAttribute("aria-checked") === "true" ? "false" : "true");
      sync();
    };
    fenceForm.querySelectorAll("[data-cell]").forEach(function (cell) {
      cell.addEventListener("click", function () { toggle(cell); });
      cell.addEventListener("keydown", function (e) {
        if (e.key === " " || e.key === "Enter") { e.preventDefault(); toggle(cell); }
      });
    });
  }

  // A command's status, followed until it settles: asked often at first, then less (the
  // server's sweeper turns a command the car never answers to expired, which ends this).
  // The element's data-follow names the command it shows; a newer command takes it over.
  function followCommand(out, url, settled) {
    var delay = 500;
    out.setAttribute("data-follow", url);
    var follow = function () {
      getJson(url).then(function (s) {
        if (out.getAttribute("data-follow") !== url) return;
        out.textContent = s.text;
        out.setAttribute("data-status", s.status);
        if (s.status === "pending") {
          window.setTimeout(follow, delay);
          delay = Math.min(delay * 1.5, 5000);
        } else {
          out.removeAttribute("data-follow");
          settled();
        }
      }, function (err) {
        if (out.getAttribute("data-follow") !== url) return;
        out.textContent = err.message;
        out.removeAttribute("data-follow");
        settled();
      });
    };
    follow();
  }

  // A command sent without script (or by another page, such as clearing trouble codes)
  // is shown pending with a refresh link; with script it follows by itself.
  var pending = document.querySelector("#command-status[data-follow]");
  if (pending) followCommand(pending, pending.getAttribute("data-follow"), function () {});

  // Vehicle commands: send, then follow the command's status until it settles.
  document.querySelectorAll("[data-command]").forEach(function (button) {
    var form = button.closest("form");
    form.addEventListener("submit", function (e) {
      if (e.submitter && e.submitter !== button) return;
      e.preventDefault();
      var out = document.getElementById("command-status");
      var token = csrf(form);
      button.disabled = true;
      out.removeAttribute("data-follow");
      out.textContent = button.textContent.trim() + ": sending…";
      postJson(form.getAttribute("data-json-action"), token, { action: button.getAttribute("data-command") })
        .then(function (sent) {
          followCommand(out, sent.statusUrl, function () { button.disabled = false; });
        })
        .catch(function (err) {
          out.textContent = err.message;
          button.disabled = false;
        });
    });
  });

  // Live vehicle status: refresh the status block now and then.
  var live = document.querySelector("[data-live-status]");
  if (live) {
    var refresh = function () {
      getJson(live.getAttribute("data-live-status")).then(function (s) {
        Object.keys(s).forEach(function (k) {
          var el = live.querySelector("[data-field=" + k + "]");
          if (el && el.textContent !== String(s[k])) el.textContent = s[k];
        });
        window.setTimeout(refresh, 5000);
      }, function () { window.setTimeout(refresh, 15000); });
    };
    window.setTimeout(refresh, 5000);
  }
})();
