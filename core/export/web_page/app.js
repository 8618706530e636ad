// Transfer Studio's web page: classifies a dropped, pasted, chosen or photographed picture in this browser with
// ONNX Runtime Web (WebAssembly). Everything it loads is in this folder; after `ready` it makes no request.
//
// window.transferStudio, for people and scripts:
//   ready                 Promise of labels.json (the model's facts) once the model is loaded and warmed up
//   classify(picture)     Promise of EVERY class as {label, confidence}, best first (calibrated probabilities
//                         that sum to 1); picture: a Blob or File, or anything createImageBitmap takes
//                         (an <img>, a canvas, an ImageBitmap, ImageData)
//   show(picture)         classify, then show the picture and its top 3 on the page (same Promise)
//   isSure(ranked)        whether the top confidence reaches labels.json's not_sure_below
//   picturesPerSecond()   this device's speed, measured on the pictures classified so far (or at load)
"use strict";
(() => {
  const TOP_K = 3;
  const folder = new URL(".", document.baseURI).href;
  const $ = (id) => document.getElementById(id);
  const timings = []; // milliseconds per picture: decoding, resizing and the model, the last 50
  const warmup = []; // milliseconds per model run at load, on a grey picture
  let loaded = null; // labels.json, once ready
  const facts = () => loaded;

  ort.env.wasm.wasmPaths = folder;
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;

  const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;
  const percent = (p) => `${(100 * p).toFixed(1)}%`;

  async function fetchOk(name) {
    const response = await fetch(name);
    if (!response.ok) throw new Error(`${name} could not be loaded (status ${response.status})`);
    return response;
  }

  async function load() {
    if (location.protocol === "file:") {
      throw new Error("This page must be served by a web server (for instance `python3 -m http.server` in " +
                      "its folder); opened as a file, the browser does not let it load its model.");
    }
    const labels = await (await fetchOk("labels.json")).json();
    const model = new Uint8Array(await (await fetchOk(labels.model.file)).arrayBuffer());
    const session = await ort.InferenceSession.create(model, {executionProviders: ["wasm"]});
    const side = labels.resize_short_side;
    const grey = new ort.Tensor("uint8", new Uint8Array(side * side * 3).fill(128), [1, side, side, 3]);
    for (let i = 0; i < 4; i += 1) { // the first run prepares the kernels: timed but not counted
      const start = performance.now();
      await session.run({[labels.model.input]: grey});
      if (i > 0) warmup.push(performance.now() - start);
    }
    return {labels, session};
  }

  // The picture as the model's input: upright (EXIF applied by the browser), transparency on grey, the short
  // side at most decoding.max_short_side px (the app decodes big JPEGs at a reduced scale too), RGB bytes.
  async function decode(picture, labels) {
    const {min_side: minSide, max_short_side: maxSide, background} = labels.decoding;
    let bitmap;
    try {
      bitmap = await createImageBitmap(picture, {imageOrientation: "from-image"});
    } catch (err) {
      throw new Error("This file is not a picture this browser can read.");
    }
    const {width, height} = bitmap;
    if (Math.min(width, height) < minSide) {
      bitmap.close();
      throw new Error(`The picture is too small (${width}x${height} px; at least ${minSide} px on each side).`);
    }
    const shrink = Math.min(width, height) > maxSide; // then the short side becomes exactly maxSide
    const scale = maxSide / Math.min(width, height);
    const canvas = document.createElement("canvas");
    canvas.width = !shrink ? width : width <= height ? maxSide : Math.round(width * scale);
    canvas.height = !shrink ? height : height < width ? maxSide : Math.round(height * scale);
    const context = canvas.getContext("2d", {willReadFrequently: true});
    context.fillStyle = `rgb(${background.join(", ")})`;
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    bitmap.close();
    const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const rgb = new Uint8Array((rgba.length / 4) * 3);
    for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
      rgb[j] = rgba[i];
      rgb[j + 1] = rgba[i + 1];
      rgb[j + 2] = rgba[i + 2];
    }
    return {canvas, tensor: new ort.Tensor("uint8", rgb, [1, canvas.height, canvas.width, 3])};
  }

  async function run(picture) {
    const {labels, session} = await ready;
    const start = performance.now();
    const {canvas, tensor} = await decode(picture, labels);
    const output = await session.run({[labels.model.input]: tensor});
    timings.push(performance.now() - start);
    if (timings.length > 50) timings.shift();
    const probabilities = output[labels.model.output].data;
    const ranked = Array.from(probabilities, (confidence, i) => ({label: labels.classes[i], confidence}));
    ranked.sort((a, b) => b.confidence - a.confidence);
    showSpeed();
    return {canvas, ranked};
  }

  async function classify(picture) {
    return (await run(picture)).ranked;
  }

  function isSure(ranked) {
    const threshold = facts().not_sure_below;
    return threshold === null || threshold === undefined || ranked[0].confidence >= threshold;
  }

  function picturesPerSecond() {
    const sample = timings.length ? timings : warmup;
    if (!sample.length) return null;
    return (1000 * sample.length) / sample.reduce((a, b) => a + b, 0);
  }

  function showSpeed() {
    const speed = picturesPerSecond();
    if (speed === null) return;
    const how = timings.length ? `over the last ${timings.length} picture${timings.length > 1 ? "s" : ""}, ` +
      "decoding included" : "the model alone, measured at load";
    const threads = ort.env.wasm.numThreads;
    $("speed").textContent = `Speed on this device: ${speed.toFixed(1)} pictures per second (${how}; ` +
      `${threads} thread${threads > 1 ? "s" : ""}).`;
  }

  async function show(picture) {
    $("status").textContent = "Looking…";
    $("status").className = "";
    try {
      const {canvas, ranked} = await run(picture);
      const preview = $("preview");
      preview.width = canvas.width;
      preview.height = canvas.height;
      preview.getContext("2d").drawImage(canvas, 0, 0);
      const sure = isSure(ranked);
      const verdict = $("verdict");
      verdict.className = sure ? "" : "not-sure";
      verdict.textContent = sure ? `${ranked[0].label} (${percent(ranked[0].confidence)})`
        : `Not sure: the closest class, ${ranked[0].label}, has only ${percent(ranked[0].confidence)} ` +
          `(below ${percent(facts().not_sure_below)}).`;
      $("top").replaceChildren(...ranked.slice(0, TOP_K).map(({label, confidence}) => {
        const item = document.createElement("li");
        const text = document.createElement("span");
        const meter = document.createElement("meter");
        text.textContent = `${label}: ${percent(confidence)}`;
        meter.value = confidence;
        item.append(text, meter);
        return item;
      }));
      $("result").hidden = false;
      $("status").textContent = "";
      return ranked;
    } catch (err) {
      $("status").textContent = err.message;
      $("status").className = "error";
      throw err;
    }
  }

  function showFacts(labels) {
    const files = labels.files;
    const total = Object.values(files).reduce((a, b) => a + b, 0);
    const accuracy = labels.validation.accuracy;
    $("title").textContent = `${labels.run_id}: ${labels.classes.length} classes`;
    $("facts").textContent = [
      `Model: ${labels.backbone} (${labels.head} head), trained with Transfer Studio ${labels.app_version}.`,
      accuracy === null || accuracy === undefined ? "" :
        `Validation accuracy ${percent(accuracy)} on ${labels.validation.images} pictures.`,
      labels.not_sure_below === null ? "" : `Below ${percent(labels.not_sure_below)} it says "not sure".`,
      `Download: ${megabytes(total)} (model ${megabytes(files[labels.model.file])}, ONNX Runtime Web ` +
        `${labels.onnxruntime_web} ${megabytes(total - files[labels.model.file])} with this page).`,
    ].filter(Boolean).join(" ");
    $("classes").textContent = `It knows only these classes: ${labels.classes.join(", ")}.`;
  }

  function firstPicture(files) {
    return Array.from(files || []).find((file) => file.type.startsWith("image/")) || (files || [])[0];
  }

  function listen() {
    const drop = $("drop");
    const showQuietly = (picture) => picture && show(picture).catch(() => {}); // the error is on the page
    for (const id of ["choose", "camera"]) {
      $(id).addEventListener("change", (event) => {
        showQuietly(event.target.files[0]);
        event.target.value = "";
      });
    }
    document.addEventListener("dragover", (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
    document.addEventListener("dragleave", () => drop.classList.remove("over"));
    document.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("over");
      showQuietly(firstPicture(event.dataTransfer.files));
    });
    document.addEventListener("paste", (event) => {
      const item = Array.from(event.clipboardData.items).find((i) => i.type.startsWith("image/"));
      if (item) showQuietly(item.getAsFile());
    });
  }

  const ready = load().then(({labels, session}) => {
    loaded = labels;
    showFacts(labels);
    showSpeed();
    return {labels, session};
  });
  ready.catch((err) => {
    $("facts").textContent = `The model could not be loaded: ${err.message}`;
    $("facts").className = "error";
  });
  listen();
  window.transferStudio = {ready: ready.then(({labels}) => labels), classify, show, isSure, picturesPerSecond};
})();
