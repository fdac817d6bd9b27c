// garita X-ray viewer. The scan PNG carries high-energy attenuation in red, low-energy attenuation in green and
// a material class in blue (0 air, 1 organic, 2 inorganic, 3 metal, 4 impenetrable; see console/images.rs).
// This script windows and levels the high-energy image, tints it by material, draws the findings' boxes, and
// lets an officer zoom, pan and draw a region that fills the "Add a finding" form. No inline script (CSP).
"use strict";
(() => {
  const root = document.getElementById("xray");
  if (!root) return;
  const canvas = root.querySelector("canvas");
  const ctx = canvas.getContext("2d");
  const findings = JSON.parse(root.dataset.findings || "[]");
  const tools = root.querySelector(".xray-tools");
  const control = (name) => tools.querySelector(`[name=${name}]`);
  const form = document.getElementById("finding-form");
  const COLOURS = [null, [245, 158, 11], [34, 197, 94], [59, 130, 246], [168, 85, 247]];
  const view = { scale: 1, x: 0, y: 0 };
  let source = null; // {width, height, high, cls}
  let rendered = null; // canvas holding the windowed, tinted image
  let drawing = false;
  let drag = null;
  let drawn = null; // [x, y, w, h] in image pixels

  function resize() {
    const ratio = window.devicePixelRatio || 1;
    canvas.width = Math.round(canvas.clientWidth * ratio);
    canvas.height = Math.round(canvas.clientHeight * ratio);
  }

  function fit() {
    if (!source) return;
    view.scale = Math.min(canvas.width / source.width, canvas.height / source.height);
    view.x = (canvas.width - source.width * view.scale) / 2;
    view.y = (canvas.height - source.height * view.scale) / 2;
  }

  function render() {
    if (!source) return;
    const window_ = Number(control("window").value);
    const level = Number(control("level").value);
    const tint = control("material").checked;
    const low = level - window_ / 2;
    const out = new ImageData(source.width, source.height);
    for (let i = 0, n = source.width * source.height; i < n; i++) {
      let v = (source.high[i] - low) / window_;
      v = v < 0 ? 0 : v > 1 ? 1 : v;
      const grey = 255 * (1 - v); // Dense is dark, as on a scanner's display.
      const colour = tint ? COLOURS[source.cls[i]] : null;
      const o = i * 4;
      if (colour) {
        out.data[o] = (grey * colour[0]) / 255;
        out.data[o + 1] = (grey * colour[1]) / 255;
        out.data[o + 2] = (grey * colour[2]) / 255;
      } else {
        out.data[o] = out.data[o + 1] = out.data[o + 2] = grey;
      }
      out.data[o + 3] = 255;
    }
    rendered = document.createElement("canvas");
    rendered.width = source.width;
    rendered.height = source.height;
    rendered.getContext("2d").putImageData(out, 0, 0);
    paint();
  }

  function box(region, colour, dashed, label) {
    const [x, y, w, h] = region;
    ctx.save();
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2 * (window.devicePixelRatio || 1);
    if (dashed) ctx.setLineDash([6, 4]);
    ctx.strokeRect(view.x + x * view.scale, view.y + y * view.scale, w * view.scale, h * view.scale);
    if (label) {
      ctx.fillStyle = colour;
      ctx.font = `${12 * (window.devicePixelRatio || 1)}px sans-serif`;
      ctx.fillText(label, view.x + x * view.scale + 2, view.y + y * view.scale - 4);
    }
    ctx.restore();
  }

  function paint() {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (!rendered) return;
    ctx.imageSmoothingEnabled = view.scale < 2;
    ctx.drawImage(rendered, view.x, view.y, source.width * view.scale, source.height * view.scale);
    if (control("boxes").checked) {
      for (const f of findings) {
        const rejected = f.rejected_by !== null && f.rejected_by !== undefined;
        const colour = rejected ? "#9ca3af" : f.source === "officer" ? "#22d3ee" : "#facc15";
        box(f.region, colour, rejected, f.kind);
      }
    }
    if (drawn) box(drawn, "#ef4444", true, "new finding");
    canvas.dataset.zoom = view.scale.toFixed(3);
  }

  function toImage(event) {
    const rect = canvas.getBoundingClientRect();
    const ratio = canvas.width / rect.width;
    const cx = (event.clientX - rect.left) * ratio;
    const cy = (event.clientY - rect.top) * ratio;
    return { cx, cy, x: (cx - view.x) / view.scale, y: (cy - view.y) / view.scale };
  }

  function zoom(factor, cx, cy) {
    const next = Math.max(0.05, Math.min(40, view.scale * factor));
    const applied = next / view.scale;
    view.x = cx - (cx - view.x) * applied;
    view.y = cy - (cy - view.y) * applied;
    view.scale = next;
    paint();
  }

  function clampToImage(value, max) {
    return Math.max(0, Math.min(max, Math.round(value)));
  }

  function finishDrawing(a, b) {
    const x0 = clampToImage(Math.min(a.x, b.x), source.width);
    const y0 = clampToImage(Math.min(a.y, b.y), source.height);
    const x1 = clampToImage(Math.max(a.x, b.x), source.width);
    const y1 = clampToImage(Math.max(a.y, b.y), source.height);
    drawn = [x0, y0, Math.max(1, x1 - x0), Math.max(1, y1 - y0)];
    if (form) {
      ["x", "y", "width", "height"].forEach((name, i) => { form.elements[name].value = drawn[i]; });
      form.elements.kind.focus();
    }
    paint();
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (!source) return;
    canvas.setPointerCapture(event.pointerId);
    drag = { start: toImage(event), view: { ...view } };
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const now = toImage(event);
    if (drawing) {
      const a = drag.start;
      drawn = [Math.min(a.x, now.x), Math.min(a.y, now.y), Math.abs(now.x - a.x), Math.abs(now.y - a.y)];
    } else {
      view.x = drag.view.x + (now.cx - drag.start.cx);
      view.y = drag.view.y + (now.cy - drag.start.cy);
    }
    paint();
  });
  canvas.addEventListener("pointerup", (event) => {
    if (drag && drawing) finishDrawing(drag.start, toImage(event));
    drag = null;
  });
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const p = toImage(event);
    zoom(event.deltaY < 0 ? 1.2 : 1 / 1.2, p.cx, p.cy);
  }, { passive: false });

  tools.addEventListener("click", (event) => {
    const act = event.target.dataset && event.target.dataset.act;
    if (!act) return;
    if (act === "zoom-in") zoom(1.25, canvas.width / 2, canvas.height / 2);
    if (act === "zoom-out") zoom(0.8, canvas.width / 2, canvas.height / 2);
    if (act === "reset") { fit(); paint(); }
    if (act === "draw") {
      drawing = !drawing;
      event.target.setAttribute("aria-pressed", String(drawing));
      canvas.classList.toggle("drawing", drawing);
    }
  });
  for (const name of ["window", "level", "material"]) control(name).addEventListener("input", render);
  control("boxes").addEventListener("input", paint);
  window.addEventListener("resize", () => { resize(); fit(); paint(); });

  const image = new Image();
  image.addEventListener("load", () => {
    const scratch = document.createElement("canvas");
    scratch.width = image.naturalWidth;
    scratch.height = image.naturalHeight;
    const sctx = scratch.getContext("2d");
    sctx.drawImage(image, 0, 0);
    const pixels = sctx.getImageData(0, 0, scratch.width, scratch.height).data;
    const n = scratch.width * scratch.height;
    const high = new Uint8Array(n);
    const cls = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      high[i] = pixels[i * 4];
      cls[i] = Math.min(4, pixels[i * 4 + 2]);
    }
    source = { width: scratch.width, height: scratch.height, high, cls };
    resize();
    fit();
    render();
    root.dataset.ready = "true";
  });
  image.addEventListener("error", () => { root.dataset.ready = "error"; });
  image.src = root.dataset.src;
})();
