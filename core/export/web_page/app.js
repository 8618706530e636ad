// Transfer Studio's web page: classifies a dropped, pasted, chosen or photographed picture in this browser with
// ONNX Runtime Web (WebAssembly). Everything it loads is in this folder; after `ready` it makes no request.
//
// window.transferStudio, for people and scripts:
//   ready                 Promise of model.json (the model's facts) once the model is loaded and warmed up
//   classify(picture)     Promise of EVERY class as {label, confidence}, best first (calibrated probabilities
//                         that sum to 1); picture: a Blob or File, or anything createImageBitmap takes
//                         (an <img>, a canvas, an ImageBitmap, ImageData)
//   show(picture)         classify, then show the picture and its top 3 on the page (same Promise)
//   isSure(ranked)        whether the top confidence reaches model.json's not_sure_below
//   picturesPerSecond()   this device's speed, measured on the pictures classified so far (or at load)
"use strict";
(() => {
  const TOP_K = 3;
  const folder = new URL(".", document.baseURI).href;
  const $ = (id) => document.getElementById(id);
  const timings = []; // milliseconds per picture: decoding, resizing and the model, the last 50
  const warmup = []; // milliseconds per model run at load, on a grey picture
  let loaded = null; // model.json, once ready
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
    const info = await (await fetchOk("model.json")).json();
    const model = new Uint8Array(await (await fetchOk(info.model.file)).arrayBuffer());
    const session = await ort.InferenceSession.create(model, {executionProviders: ["wasm"]});
    const side = info.resize_short_side;
    const grey = new ort.Tensor("uint8", new Uint8Array(side * side * 3).fill(128), [1, side, side, 3]);
    for (let i = 0; i < 4; i += 1) { // the first run prepares the kernels: timed but not counted
      const start = performance.now();
      await session.run({[info.model.input]: grey});
      if (i > 0) warmup.push(performance.now() - start);
    }
    return {info, session};
  }

  // createImageBitmap's options, most wanted first: the EXIF orientation applied, and the pixels as they are in
  // the file (no colour profile or PNG gamma applied, alpha not premultiplied), as the app's decoder (Pillow)
  // reads them. A browser that does not know an option throws TypeError: then it is asked with fewer.
  const BITMAP_OPTIONS = [
    {imageOrientation: "from-image", colorSpaceConversion: "none", premultiplyAlpha: "none"},
    {imageOrientation: "from-image", colorSpaceConversion: "none"},
    {imageOrientation: "from-image"},
    undefined,
  ];

  async function bitmapOf(picture) {
    for (const options of BITMAP_OPTIONS) {
      try {
        return await createImageBitmap(picture, options);
      } catch (err) {
        if (!(err instanceof TypeError)) break; // the picture itself is unreadable: no option will help
      }
    }
    throw new Error("This file is not a picture this browser can read.");
  }

  // Whether the app would read the picture as a JPEG (Pillow goes by the file's first bytes, not its name or type).
  async function isJpeg(picture) {
    if (!(picture instanceof Blob)) return false;
    const head = new Uint8Array(await picture.slice(0, 3).arrayBuffer());
    return head.length === 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
  }

  // The app decodes a big JPEG at 1/scale (Pillow's draft): the largest scale of jpeg_draft_scales not above
  // min(width // jpeg_draft_side, height // jpeg_draft_side), to ceil(width / scale) x ceil(height / scale) px.
  function draftScale(width, height, decoding) {
    const most = Math.min(Math.floor(width / decoding.jpeg_draft_side), Math.floor(height / decoding.jpeg_draft_side));
    return decoding.jpeg_draft_scales.find((scale) => most >= scale) || 1;
  }

  // The picture as the model's input, decoded as the app decodes it (model.json's decoding.rule): upright,
  // transparency on grey, big JPEGs reduced as the app reduces them (other formats at full size), RGB bytes.
  async function decode(picture, info) {
    const decoding = info.decoding;
    const jpeg = await isJpeg(picture);
    const bitmap = await bitmapOf(picture);
    const {width, height} = bitmap;
    const refusal = Math.min(width, height) < decoding.min_side
      ? `The picture is too small (${width}x${height} px; at least ${decoding.min_side} px on each side).`
      : width * height > decoding.max_pixels
        ? `The picture has too many pixels (${width}x${height}; at most ${decoding.max_pixels.toLocaleString("en")}).`
        : null;
    if (refusal) {
      bitmap.close();
      throw new Error(refusal);
    }
    const scale = jpeg ? draftScale(width, height, decoding) : 1;
    const canvas = document.createElement("canvas");
    canvas.width = Math.ceil(width / scale);
    canvas.height = Math.ceil(height / scale);
    const context = canvas.getContext("2d", {willReadFrequently: true});
    context.fillStyle = `rgb(${decoding.background.join(", ")})`;
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
    const {info, session} = await ready;
    const start = performance.now();
    const {canvas, tensor} = await decode(picture, info);
    const output = await session.run({[info.model.input]: tensor});
    timings.push(performance.now() - start);
    if (timings.length > 50) timings.shift();
    const probabilities = output[info.model.output].data;
    const ranked = Array.from(probabilities, (confidence, i) => ({label: info.classes[i], confidence}));
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

  function showFacts(info) {
    const files = info.files;
    const total = Object.values(files).reduce((a, b) => a + b, 0);
    const accuracy = info.validation.accuracy;
    $("title").textContent = `${info.run_id}: ${info.classes.length} classes`;
    $("facts").textContent = [
      `Model: ${info.backbone} (${info.head} head), trained with Transfer Studio ${info.app_version}.`,
      accuracy === null || accuracy === undefined ? "" :
        `Validation accuracy ${percent(accuracy)} on ${info.validation.images} pictures.`,
      info.not_sure_below === null ? "" : `Below ${percent(info.not_sure_below)} it says "not sure".`,
      `Download: ${megabytes(total)} (model ${megabytes(files[info.model.file])}, ONNX Runtime Web ` +
        `${info.onnxruntime_web} ${megabytes(total - files[info.model.file])} with this page).`,
    ].filter(Boolean).join(" ");
    $("classes").textContent = `It knows only these classes: ${info.classes.join(", ")}.`;
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

  const ready = load().then(({info, session}) => {
    loaded = info;
    showFacts(info);
    showSpeed();
    return {info, session};
  });
  ready.catch((err) => {
    $("facts").textContent = `The model could not be loaded: ${err.message}`;
    $("facts").className = "error";
  });
  listen();
  window.transferStudio = {ready: ready.then(({info}) => info), classify, show, isSure, picturesPerSecond};
})();
