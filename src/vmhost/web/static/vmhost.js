/* vmhost web UI: a little vanilla JavaScript. Every page works without it; with it, filters
   apply as they change, long actions show their progress without a reload, the over-commit
   sliders and their previews follow what is typed, and the compose form previews its host. */
"use strict";

(function () {
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  async function getJson(url, options) {
    const headers = Object.assign({ Accept: "application/json" }, (options || {}).headers || {});
    const response = await fetch(url, Object.assign({ credentials: "same-origin" }, options, { headers }));
    let body = {};
    try { body = await response.json(); } catch (e) { body = { message: "unexpected answer (" + response.status + ")" }; }
    if (response.status === 401 && body.login) {
      window.location = "/login?next=" + encodeURIComponent(location.pathname + location.search) + "&why=" + encodeURIComponent(body.message || "");
    }
    return { status: response.status, body };
  }

  function postForm(form, extra) {
    const data = new FormData(form);
    if (extra) { for (const [k, v] of Object.entries(extra)) data.set(k, v); }
    return getJson(form.getAttribute("action"), { method: "POST", body: data, headers: { "X-CSRF-Token": csrf() } });
  }

  /* Field errors next to their inputs (and the form's own error box). */
  function showErrors(form, errors) {
    form.querySelectorAll("[data-error-for]").forEach((el) => {
      const message = errors[el.dataset.errorFor];
      el.hidden = !message;
      el.textContent = message || "";
      const input = form.querySelector('[name="' + el.dataset.errorFor + '"]');
      if (input) {
        input.toggleAttribute("aria-invalid", !!message);
        if (input.closest(".field")) input.closest(".field").classList.toggle("has-error", !!message);
      }
    });
    const unplaced = Object.entries(errors).filter(([k]) => !form.querySelector('[data-error-for="' + k + '"]'));
    if (unplaced.length) {
      const box = form.querySelector('[data-error-for="_form"]');
      if (box) { box.hidden = false; box.textContent = unplaced.map(([k, v]) => (k === "_form" ? v : k + ": " + v)).join(" "); }
    }
  }

  /* Follow an operation until it ends; onDone(result) or onFail(error). */
  function follow(url, slot, label, onDone, onFail) {
    const tick = async () => {
      const { status, body } = await getJson(url);
      if (status !== 200) { onFail({ message: body.message || "lost track of the operation" }); return; }
      if (body.status === "succeeded") { onDone(body.result || {}); return; }
      if (body.status === "failed") { onFail(body.error || { message: "failed" }); return; }
      if (slot) slot.innerHTML = '<span class="progress"><span class="spinner" aria-hidden="true"></span>' + esc(label) + "… " + esc(body.stage) + " (" + body.seconds + " s)</span>";
      setTimeout(tick, 600);
    };
    tick();
  }

  function esc(text) {
    const d = document.createElement("span");
    d.textContent = text == null ? "" : String(text);
    return d.innerHTML;
  }

  /* Forms marked data-async: post in the background, show progress, then go on. */
  function asyncForms() {
    document.querySelectorAll("form[data-async]").forEach((form) => {
      form.addEventListener("submit", async (event) => {
        if (form.dataset.busy) { event.preventDefault(); return; }
        event.preventDefault();
        const submitter = event.submitter;
        const extra = submitter && submitter.name ? { [submitter.name]: submitter.value } : null;
        const slot = form.querySelector("[data-progress]");
        const label = form.dataset.progressLabel || "Working";
        form.dataset.busy = "1";
        form.querySelectorAll("button").forEach((b) => (b.disabled = true));
        if (slot) slot.innerHTML = '<span class="progress"><span class="spinner" aria-hidden="true"></span>' + esc(label) + "…</span>";
        const done = () => { delete form.dataset.busy; form.querySelectorAll("button").forEach((b) => (b.disabled = false)); };
        const { status, body } = await postForm(form, extra);
        if (status === 202 && body.status_url) {
          follow(body.status_url, slot, label, (result) => {
            if (form.dataset.onDone) { window[form.dataset.onDone](form, result); done(); return; }
            window.location = result.redirect || window.location.href;
          }, (error) => {
            done();
            if (form.dataset.onFail) { window[form.dataset.onFail](form, error); return; }
            if (slot) slot.innerHTML = '<span class="field-error" role="alert">' + esc(error.message) + "</span>";
            if (error.fields) showErrors(form, Object.fromEntries(Object.entries(error.fields).map(([k, v]) => [k, v.join("; ")])));
          });
        } else if (status === 400 && body.errors) {
          done(); if (slot) slot.textContent = ""; showErrors(form, body.errors);
        } else if (body.redirect) {
          window.location = body.redirect;
        } else {
          done();
          if (slot) slot.innerHTML = '<span class="field-error" role="alert">' + esc(body.message || "failed") + "</span>";
        }
      });
    });
  }

  /* Filters apply as soon as a choice changes (the Apply button stays for keyboards). */
  function autosubmit() {
    document.querySelectorAll("form[data-autosubmit]").forEach((form) => {
      form.querySelectorAll("select").forEach((s) => s.addEventListener("change", () => form.requestSubmit()));
    });
  }

  /* Copy buttons: data-copy="id of the element whose text is copied". */
  function copyButtons() {
    document.querySelectorAll("[data-copy]").forEach((button) => {
      button.hidden = false;
      button.addEventListener("click", async () => {
        const text = document.getElementById(button.dataset.copy).textContent.trim();
        try {
          await navigator.clipboard.writeText(text);
        } catch (e) {
          const area = document.createElement("textarea");
          area.value = text; document.body.appendChild(area); area.select();
          document.execCommand("copy"); area.remove();
        }
        const before = button.textContent;
        button.textContent = "Copied";
        setTimeout(() => (button.textContent = before), 1500);
      });
    });
  }

  /* Over-commit sliders and number inputs kept in step; the preview asks the server. */
  function settings() {
    const form = document.getElementById("settings-form");
    if (!form) return;
    let timer = null;
    let seq = 0;
    const refresh = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const mine = ++seq;
        const params = new URLSearchParams();
        form.querySelectorAll("[data-preview-input]").forEach((i) => params.set(i.name, i.value));
        const { status, body } = await getJson(form.dataset.previewUrl + "?" + params.toString());
        if (mine !== seq) return;
        const errors = body.errors || {};
        form.querySelectorAll("[data-preview-input]").forEach((i) => {
          const el = form.querySelector('[data-error-for="' + i.name + '"]');
          if (el) { el.hidden = !errors[i.name]; el.textContent = errors[i.name] || ""; }
          i.toggleAttribute("aria-invalid", !!errors[i.name]);
          if (i.closest(".field")) i.closest(".field").classList.toggle("has-error", !!errors[i.name]);
        });
        if (status !== 200) return;
        form.querySelectorAll("[data-preview]").forEach((box) => {
          const p = body[box.dataset.preview];
          box.innerHTML = '<div class="formula">' + esc(p.formula) + '</div><div class="effect' + (p.over ? " bad" : "") + '">' + esc(p.effect) + "</div>";
        });
      }, 120);
    };
    form.querySelectorAll("[data-slider-for]").forEach((slider) => {
      const number = document.getElementById(slider.dataset.sliderFor);
      slider.addEventListener("input", () => { number.value = Number(slider.value).toFixed(1); refresh(); });
      number.addEventListener("input", () => {
        const v = Number(number.value.replace(",", "."));
        if (number.value.trim() !== "" && !Number.isNaN(v) && v >= 0 && v <= 10) slider.value = String(v);
      });
    });
    form.querySelectorAll("[data-preview-input]").forEach((i) => i.addEventListener("input", refresh));
  }

  /* NUMA view: map VMs onto their nodes (remembered per host), highlight a VM's cores. */
  function numa() {
    const toggle = document.querySelector("[data-numa-toggle]");
    const box = document.getElementById("numa");
    if (!toggle || !box) return;
    const key = "vmhost-numa-vms-" + toggle.dataset.numaToggle;
    if (!location.search.includes("vms=") && localStorage.getItem(key) === "1") toggle.checked = true;
    const apply = () => {
      box.classList.toggle("show-vms", toggle.checked);
      localStorage.setItem(key, toggle.checked ? "1" : "0");
    };
    toggle.addEventListener("change", apply);
    apply();
    box.querySelectorAll("[data-highlight]").forEach((button) => {
      button.addEventListener("click", () => {
        const on = button.getAttribute("aria-pressed") !== "true";
        box.querySelectorAll("[data-highlight]").forEach((b) => b.setAttribute("aria-pressed", "false"));
        box.querySelectorAll(".core.hl").forEach((c) => c.classList.remove("hl"));
        if (on) {
          button.setAttribute("aria-pressed", "true");
          box.querySelectorAll('.core[data-vm="' + CSS.escape(button.dataset.highlight) + '"]').forEach((c) => c.classList.add("hl"));
        }
      });
    });
  }

  /* Add host: show the fields of the chosen way to authenticate; say we are connecting. */
  function addHost() {
    document.querySelectorAll("[data-auth-choices]").forEach((choices) => {
      const apply = () => {
        const chosen = (choices.querySelector("input[type=radio]:checked") || {}).value;
        choices.querySelectorAll(".auth-option").forEach((option) => {
          const radio = option.querySelector("input[type=radio]");
          option.dataset.selected = String(radio.value === chosen);
          const fields = option.querySelector(".auth-fields");
          if (fields) fields.hidden = radio.value !== chosen;
        });
      };
      choices.addEventListener("change", apply);
      apply();
    });
    document.querySelectorAll("form[data-busy-label]").forEach((form) => {
      form.addEventListener("submit", () => {
        const slot = form.querySelector("[data-busy]");
        if (slot) slot.innerHTML = '<span class="progress"><span class="spinner" aria-hidden="true"></span>' + esc(form.dataset.busyLabel) + "…</span>";
      });
    });
  }

  /* Trust page: check the host again every few seconds until it trusts vmhost. */
  function trust() {
    const box = document.getElementById("trust-state");
    if (!box || !box.dataset.recheck) return;
    const check = async () => {
      const body = new FormData();
      body.set("csrf_token", csrf());
      const { status, body: state } = await getJson(box.dataset.recheck, { method: "POST", body, headers: { "X-CSRF-Token": csrf() } });
      if (status !== 200) {
        box.querySelector(".sub:last-child").textContent = state.message || "could not check the host";
        setTimeout(check, 5000);
        return;
      }
      if (!state.ready) {
        box.innerHTML = '<span class="spinner" aria-hidden="true"></span><div><strong>' + esc(state.label) + ".</strong> " + esc(state.next) +
          (state.problem && state.status !== "untrusted" ? '<div class="sub problem">' + esc(state.problem) + "</div>" : "") + '<div class="sub">Checking again every few seconds…</div></div>';
        setTimeout(check, 3000);
        return;
      }
      box.className = "check-status ok";
      box.innerHTML = "<div><strong>Trusted and ready.</strong> " + esc(state.summary) + "</div>";
      document.querySelectorAll(".steps > li").forEach((li) => li.classList.add("done"));
      const form = document.querySelector('form[action$="/recheck"]');
      if (form) form.remove();
      const card = document.getElementById("project-card");
      const list = document.getElementById("project-list");
      if (list) {
        const current = (document.getElementById("current-project") || {}).textContent;
        list.innerHTML = state.projects.map((p) => '<label class="choice"><input type="radio" name="project" value="' + esc(p.name) + '"' +
          (p.name === current ? " checked" : "") + "> <span>" + esc(p.name) + ' <span class="muted">(' + p.instances + " instance" + (p.instances === 1 ? "" : "s") + ")</span></span></label>").join("");
      }
      if (card) card.hidden = false;
      ["project-form"].forEach((id) => { const el = document.getElementById(id); if (el) el.hidden = false; });
      const later = document.getElementById("projects-later");
      if (later) later.hidden = true;
    };
    setTimeout(check, 1500);
  }

  /* Compose: preview the host as the form changes; show the result without a reload. */
  function composeForm() {
    const form = document.getElementById("compose-form");
    const box = document.getElementById("compose-preview");
    if (!form || !box) return;
    let timer = null;
    let seq = 0;
    const pinned = form.querySelector("#f-pinned_cores");
    const syncPinning = () => {
      const chosen = (form.querySelector("input[name=pinning]:checked") || {}).value;
      if (pinned) pinned.closest(".field").hidden = chosen !== "cores";
      const cores = form.querySelector("#f-cores");
      if (cores) cores.disabled = chosen === "cores";
    };
    const refresh = () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const mine = ++seq;
        const data = new FormData(form);
        const { status, body } = await getJson("/compose/preview", { method: "POST", body: data, headers: { "X-CSRF-Token": csrf() } });
        if (mine !== seq) return;
        showErrors(form, body.errors || {});
        if (status === 400) {
          box.innerHTML = '<p class="muted">Fix the fields marked in red to see where the VM would go.</p>';
          return;
        }
        if (status !== 200) { box.innerHTML = '<p class="field-error">' + esc(body.message || "no preview") + "</p>"; return; }
        let html = '<p class="' + (body.ok ? "preview-ok" : "preview-bad") + '"><strong>' + (body.ok ? "Fits." : "Does not fit.") + "</strong> " + esc(body.summary) + "</p>";
        if (body.reasons.length) {
          html += '<p class="sub">' + body.considered + " host" + (body.considered === 1 ? "" : "s") + " considered; left out:</p><ul class=\"reason-list\">" +
            body.reasons.map((r) => "<li>" + (r.host ? esc(r.host) + ": " : r.hosts + " host" + (r.hosts === 1 ? "" : "s") + " ") + esc(r.reason) + "</li>").join("") + "</ul>";
        }
        box.innerHTML = html;
      }, 250);
    };
    form.addEventListener("input", refresh);
    form.addEventListener("change", () => { syncPinning(); refresh(); });
    syncPinning();
    refresh();
  }

  window.vmhostComposed = (form, result) => {
    const box = document.getElementById("compose-result");
    const d = result.data || {};
    box.hidden = false;
    box.className = "card result result-ok";
    box.innerHTML = "<p><strong>" + esc(result.message) + '</strong></p><p><a class="btn" href="/hosts/' + d.host_id + '/vms">See it on ' + esc(d.host) +
      '</a> <a class="btn btn-quiet" href="/hosts/' + d.host_id + '/resources">NUMA view</a></p>';
    const slot = form.querySelector("[data-progress]");
    if (slot) slot.textContent = "";
    const name = form.querySelector("#f-hostname");
    if (name) name.value = "";
    box.focus && box.scrollIntoView({ block: "nearest" });
  };

  window.vmhostComposeFailed = (form, error) => {
    const box = document.getElementById("compose-result");
    box.hidden = false;
    box.className = "card result result-bad";
    const reasons = (error.reasons || []).map((r) => "<li>" + (r.host ? esc(r.host.name) + ": " : (r.hosts || 0) + " host" + (r.hosts === 1 ? " " : "s ")) + esc(r.reason) + "</li>").join("");
    box.innerHTML = '<p class="field-error" role="alert">' + esc(error.message) + "</p>" + (reasons ? '<ul class="reason-list">' + reasons + "</ul>" : "");
    const slot = form.querySelector("[data-progress]");
    if (slot) slot.textContent = "";
    if (error.fields) showErrors(form, Object.fromEntries(Object.entries(error.fields).map(([k, v]) => [k, v.join("; ")])));
  };

  window.vmhost = { getJson, postForm, showErrors, follow, esc, csrf };

  document.addEventListener("DOMContentLoaded", () => {
    autosubmit();
    asyncForms();
    copyButtons();
    settings();
    numa();
    addHost();
    trust();
    composeForm();
    document.dispatchEvent(new Event("vmhost:ready"));
  });
})();
